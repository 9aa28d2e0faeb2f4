//! The workspace emulator: OAuth M2M, SCIM Me, the Apps API, SQL warehouses, the Statement
//! Execution API and MLflow's assessment endpoints, on their own listener.

mod apps;
mod mlflow;
mod oauth;
pub mod statements;

use crate::config::ServicePrincipal;
use crate::http_util::{bearer, databricks_error, json_bytes};
use crate::state::SharedState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::json;

/// Routes of the workspace listener.
pub fn router(state: SharedState) -> Router {
    let authenticated = Router::new()
        .route("/api/2.0/preview/scim/v2/Me", get(scim_me))
        .route("/api/2.0/apps/{name}", get(apps::get_app))
        .route("/api/2.0/sql/warehouses/{id}", get(apps::get_warehouse))
        .route("/api/2.0/sql/statements", post(statements::execute))
        .route("/api/2.0/sql/statements/", post(statements::execute))
        .route("/api/2.0/sql/statements/{id}", get(statements::get).delete(statements::close))
        .route("/api/2.0/sql/statements/{id}/cancel", post(statements::cancel))
        .route("/api/4.0/mlflow/traces/{location}/{trace_id}/assessments", post(mlflow::create_assessment_v4))
        .route("/api/3.0/mlflow/traces/{trace_id}/assessments", post(mlflow::create_assessment_v3))
        .route("/telemetry-ext", post(|| async { json_bytes(StatusCode::OK, "{}".into()) }))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/.well-known/databricks-config", get(oauth::host_metadata))
        .route("/oidc/.well-known/oauth-authorization-server", get(oauth::discovery))
        .route("/oidc/v1/token", post(oauth::token))
        .merge(authenticated)
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(req: Request) -> Response {
    databricks_error(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        &format!("No API found for '{} {}'", req.method(), req.uri().path()),
    )
}

/// Workspace APIs need a bearer the emulator issued; the principal is passed on.
async fn require_token(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return databricks_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Credential was not sent or was of an unsupported type for this API.",
        );
    };
    let Some(principal) = state.identity.principal_for_token(token) else {
        return databricks_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Invalid access token.");
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// `GET /api/2.0/preview/scim/v2/Me`: the calling principal; the header carries the workspace id.
async fn scim_me(State(state): State<SharedState>, Extension(p): Extension<ServicePrincipal>) -> Response {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": p.scim_id,
        "userName": p.application_id,
        "displayName": p.display_name,
        "active": true
    });
    let mut resp = json_bytes(StatusCode::OK, body.to_string());
    if let Ok(v) = state.config.workspace_id.parse() {
        resp.headers_mut().insert("x-databricks-org-id", v);
    }
    resp.into_response()
}
