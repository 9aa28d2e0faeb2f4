//! `GET /api/2.0/apps/{name}` with the real field names, and `GET /api/2.0/sql/warehouses/{id}`.

use crate::http_util::{databricks_error, json_bytes};
use crate::state::SharedState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

pub async fn get_app(State(state): State<SharedState>, Path(name): Path<String>) -> Response {
    let cfg = &state.config;
    let (url, sp) = if name == cfg.agent_app_name {
        // The agent app's own SP is not modelled; give it a distinct, stable identity.
        (state.agent_url.get().cloned(), None)
    } else if name == cfg.appkit_app_name {
        (state.appkit_url.lock().expect("appkit url lock").clone(), Some(cfg.appkit_sp()))
    } else {
        return databricks_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("App with name {name} does not exist or is deleted."),
        );
    };
    let running = url.is_some();
    let mut app = json!({
        "name": name,
        "url": url.unwrap_or_default(),
        "description": "hopcheck loopback emulation",
        "compute_size": "MEDIUM",
        "app_status": if running {
            json!({"state": "RUNNING", "message": "App has status: App is running"})
        } else {
            json!({"state": "UNAVAILABLE", "message": "App status is unavailable."})
        },
        "compute_status": {"state": "ACTIVE", "message": "App compute is running."},
        "active_deployment": {
            "deployment_id": "01f0hopcheck0000000000000000001",
            "source_code_path": format!("/Workspace/Users/hopcheck/.bundle/{name}/default/files"),
            "status": {"state": "SUCCEEDED", "message": "App started successfully"}
        },
        "create_time": "2026-12-01T00:00:00Z",
        "creator": "hopcheck@example.com"
    });
    match sp {
        Some(sp) => {
            app["service_principal_client_id"] = json!(sp.application_id);
            app["service_principal_id"] = json!(sp.scim_id.parse::<i64>().unwrap_or(0));
            app["service_principal_name"] = json!(sp.display_name);
            app["resources"] = json!([{
                "name": "agent-backend",
                "description": "Agent App this AppKit dashboard proxies to",
                "app": {"name": cfg.agent_app_name, "permission": "CAN_USE"}
            }]);
        }
        None => {
            app["service_principal_client_id"] = json!("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
            app["service_principal_id"] = json!(6126327940977411_i64);
            app["service_principal_name"] = json!(format!("app-hopcheck {name}"));
        }
    }
    json_bytes(StatusCode::OK, app.to_string())
}

pub async fn get_warehouse(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    if id != state.config.warehouse_id {
        return databricks_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("Warehouse {id} does not exist."),
        );
    }
    let body = json!({
        "id": id,
        "name": "hopcheck embedded warehouse (SQLite)",
        "state": "RUNNING",
        "cluster_size": "2X-Small",
        "warehouse_type": "PRO",
        "enable_serverless_compute": true,
        "odbc_params": {"hostname": "127.0.0.1", "path": format!("/sql/1.0/warehouses/{id}"), "protocol": "http", "port": 0}
    });
    json_bytes(StatusCode::OK, body.to_string())
}
