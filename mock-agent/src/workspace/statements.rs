//! The SQL Statement Execution API 2.0 (INLINE + JSON_ARRAY), executed by the embedded engine.
//! A failed statement is HTTP 200 with `status.state = FAILED`, as on Databricks.

use crate::http_util::{databricks_error, json_bytes};
use crate::state::SharedState;
use crate::warehouse::{ResultSet, SqlError, Statement, StatementParameter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Statements are kept for GET until this many newer ones exist.
const KEPT_STATEMENTS: usize = 1_000;

#[derive(Deserialize)]
pub struct ExecuteRequest {
    statement: Option<String>,
    warehouse_id: Option<String>,
    catalog: Option<String>,
    schema: Option<String>,
    #[serde(default)]
    parameters: Vec<StatementParameter>,
    wait_timeout: Option<String>,
    disposition: Option<String>,
    format: Option<String>,
    row_limit: Option<i64>,
}

/// Responses of finished statements, by id (bounded).
#[derive(Default)]
pub struct StatementStore {
    inner: Mutex<(HashMap<String, StoredStatement>, VecDeque<String>)>,
}

#[derive(Clone)]
struct StoredStatement {
    response: Value,
    /// GETs left that still report PENDING (for `wait_timeout: "0s"`).
    pending_polls: u32,
}

impl StatementStore {
    fn put(&self, id: &str, response: Value, pending_polls: u32) {
        let mut guard = self.inner.lock().expect("statement lock");
        let (map, order) = &mut *guard;
        if order.len() >= KEPT_STATEMENTS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        map.insert(id.to_string(), StoredStatement { response, pending_polls });
        order.push_back(id.to_string());
    }

    fn poll(&self, id: &str) -> Option<Value> {
        let mut guard = self.inner.lock().expect("statement lock");
        let stored = guard.0.get_mut(id)?;
        if stored.pending_polls > 0 {
            stored.pending_polls -= 1;
            return Some(json!({"statement_id": id, "status": {"state": "RUNNING"}}));
        }
        Some(stored.response.clone())
    }

    fn set_state(&self, id: &str, state: &str) -> bool {
        let mut guard = self.inner.lock().expect("statement lock");
        match guard.0.get_mut(id) {
            Some(stored) => {
                stored.pending_polls = 0;
                stored.response = json!({"statement_id": id, "status": {"state": state}});
                true
            }
            None => false,
        }
    }
}

fn new_statement_id() -> String {
    let b: [u8; 16] = rand::rng().random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("01f0{}-{}-{}-{}-{}", &h[..4], &h[4..8], &h[8..12], &h[12..16], &h[16..28])
}

fn invalid(message: &str) -> Response {
    databricks_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
}

/// `wait_timeout` is `0s` or 5–50 s; returns whether the call should answer PENDING first.
fn parse_wait_timeout(value: Option<&str>) -> Result<bool, String> {
    let Some(v) = value else { return Ok(false) };
    let secs: u64 = v
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("wait_timeout must be of the form '<seconds>s', got {v:?}"))?;
    match secs {
        0 => Ok(true),
        5..=50 => Ok(false),
        _ => Err(format!("wait_timeout must be 0s or between 5s and 50s, got {v:?}")),
    }
}

/// `POST /api/2.0/sql/statements`.
pub async fn execute(State(state): State<SharedState>, body: String) -> Response {
    let req: ExecuteRequest = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return invalid(&format!("Malformed request body: {e}")),
    };
    let Some(sql) = req.statement.filter(|s| !s.trim().is_empty()) else {
        return invalid("statement is required");
    };
    let Some(warehouse_id) = req.warehouse_id else {
        return invalid("warehouse_id is required");
    };
    if warehouse_id != state.config.warehouse_id {
        return databricks_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("Warehouse {warehouse_id} does not exist."),
        );
    }
    let disposition = req.disposition.as_deref().unwrap_or("INLINE");
    let format = req.format.as_deref().unwrap_or("JSON_ARRAY");
    if disposition != "INLINE" {
        return invalid(&format!(
            "disposition {disposition} is not supported by the hopcheck warehouse emulator (INLINE only)"
        ));
    }
    if format != "JSON_ARRAY" {
        return invalid("The format field must be JSON_ARRAY when the disposition field is INLINE.");
    }
    let answer_pending = match parse_wait_timeout(req.wait_timeout.as_deref()) {
        Ok(p) => p,
        Err(m) => return invalid(&m),
    };
    let row_limit = req.row_limit.map(|n| n.max(0) as usize);
    let warehouse = state.warehouse.clone();
    let (catalog, schema, params) = (req.catalog, req.schema, req.parameters);
    let outcome = tokio::task::spawn_blocking(move || {
        warehouse.run(&Statement {
            sql: &sql,
            parameters: &params,
            catalog: catalog.as_deref(),
            schema: schema.as_deref(),
            row_limit,
        })
    })
    .await;
    let id = new_statement_id();
    let response = match outcome {
        Ok(Ok(rs)) => succeeded(&id, &rs),
        Ok(Err(e)) => failed(&id, &e),
        Err(_) => failed(&id, &SqlError { error_code: "INTERNAL_ERROR", message: "statement worker failed".into() }),
    };
    if answer_pending {
        state.statements.put(&id, response, 1);
        return json_bytes(StatusCode::OK, json!({"statement_id": id, "status": {"state": "PENDING"}}).to_string());
    }
    state.statements.put(&id, response.clone(), 0);
    json_bytes(StatusCode::OK, response.to_string())
}

fn succeeded(id: &str, rs: &ResultSet) -> Value {
    let columns: Vec<Value> = rs
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"name": c.name, "type_name": c.type_name, "type_text": c.type_text, "position": i}))
        .collect();
    let n = rs.rows.len();
    let (chunks, result) = if n == 0 {
        (json!([]), json!({}))
    } else {
        (
            json!([{"chunk_index": 0, "row_offset": 0, "row_count": n}]),
            json!({"chunk_index": 0, "row_offset": 0, "row_count": n, "data_array": rs.rows}),
        )
    };
    json!({
        "statement_id": id,
        "status": {"state": "SUCCEEDED"},
        "manifest": {
            "format": "JSON_ARRAY",
            "schema": {"column_count": columns.len(), "columns": columns},
            "total_chunk_count": if n == 0 { 0 } else { 1 },
            "chunks": chunks,
            "total_row_count": n,
            "truncated": rs.truncated
        },
        "result": result
    })
}

fn failed(id: &str, e: &SqlError) -> Value {
    json!({
        "statement_id": id,
        "status": {"state": "FAILED", "error": {"error_code": e.error_code, "message": e.message}, "sql_state": "42000"}
    })
}

fn unknown_statement(id: &str) -> Response {
    databricks_error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("Statement {id} not found."))
}

/// `GET /api/2.0/sql/statements/{id}`.
pub async fn get(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    match state.statements.poll(&id) {
        Some(v) => json_bytes(StatusCode::OK, v.to_string()),
        None => unknown_statement(&id),
    }
}

/// `POST /api/2.0/sql/statements/{id}/cancel`.
pub async fn cancel(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    if state.statements.set_state(&id, "CANCELED") {
        json_bytes(StatusCode::OK, "{}".into())
    } else {
        unknown_statement(&id)
    }
}

/// `DELETE /api/2.0/sql/statements/{id}` (the SQL connector's close).
pub async fn close(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    if state.statements.set_state(&id, "CLOSED") {
        json_bytes(StatusCode::OK, "{}".into())
    } else {
        unknown_statement(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_wait_timeout;

    #[test]
    fn wait_timeout_follows_the_api_rules() {
        assert_eq!(parse_wait_timeout(None), Ok(false));
        assert_eq!(parse_wait_timeout(Some("0s")), Ok(true));
        assert_eq!(parse_wait_timeout(Some("30s")), Ok(false));
        assert!(parse_wait_timeout(Some("3s")).is_err());
        assert!(parse_wait_timeout(Some("51s")).is_err());
        assert!(parse_wait_timeout(Some("ten")).is_err());
    }
}
