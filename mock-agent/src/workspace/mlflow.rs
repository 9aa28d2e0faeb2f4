//! MLflow's assessment REST calls (`mlflow.log_feedback`): V4 for `trace:/` ids (bare body),
//! V3 for `tr-` ids (body wrapped in `{"assessment": …}`). Both land in the assessments table.

use crate::assessments::{now_rfc3339_millis, AssessmentRow};
use crate::http_util::{databricks_error, json_bytes};
use crate::state::SharedState;
use crate::trace_id;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

fn invalid(message: &str) -> Response {
    databricks_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
}

/// Validates an assessment object and turns it into a row for `bare_trace_id`.
fn to_row(a: &Map<String, Value>, bare_trace_id: &str, location: Option<String>) -> Result<AssessmentRow, String> {
    let name = a
        .get("assessment_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("assessment_name is required")?;
    let source = a.get("source").and_then(Value::as_object).ok_or("source is required")?;
    let source_type = source.get("source_type").and_then(Value::as_str).ok_or("source.source_type is required")?;
    if !["HUMAN", "LLM_JUDGE", "CODE", "SOURCE_TYPE_UNSPECIFIED"].contains(&source_type) {
        return Err(format!("source.source_type {source_type:?} is not one of HUMAN, LLM_JUDGE, CODE"));
    }
    let value = a.get("feedback").or_else(|| a.get("expectation")).and_then(|v| v.get("value")).map(Value::to_string);
    Ok(AssessmentRow {
        trace_id: bare_trace_id.to_string(),
        trace_location: location,
        assessment_name: name.to_string(),
        source_type: source_type.to_string(),
        source_id: source.get("source_id").and_then(Value::as_str).map(str::to_string),
        value,
        rationale: a.get("rationale").and_then(Value::as_str).map(str::to_string),
        metadata: a.get("metadata").map(Value::to_string),
        create_time: a
            .get("create_time")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(now_rfc3339_millis),
    })
}

/// Saves the row and answers the assessment with its server-assigned id.
fn store(state: &SharedState, mut a: Map<String, Value>, row: &AssessmentRow) -> Result<Map<String, Value>, String> {
    let id = state.assessments.insert(row).map_err(|e| format!("assessment write failed: {e}"))?;
    a.insert("assessment_id".into(), json!(id));
    a.entry("create_time").or_insert(json!(row.create_time));
    a.entry("last_update_time").or_insert(json!(row.create_time));
    Ok(a)
}

/// `POST /api/4.0/mlflow/traces/{location}/{trace_id}/assessments`.
pub async fn create_assessment_v4(
    State(state): State<SharedState>,
    Path((location, trace_id)): Path<(String, String)>,
    body: String,
) -> Response {
    let table = state.assessments.table().to_string();
    if location != table {
        return databricks_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("Trace location {location} is not known to this workspace (it has {table})."),
        );
    }
    if trace_id::parse(&trace_id).map(|p| p.bare != trace_id).unwrap_or(true) {
        return invalid(&format!("trace id {trace_id:?} in the path must be the bare 32-hex id"));
    }
    let Ok(Value::Object(a)) = serde_json::from_str::<Value>(&body) else {
        return invalid("request body must be a JSON Assessment object");
    };
    if let Some(body_id) = a.get("trace_id").and_then(Value::as_str) {
        if body_id != trace_id {
            return invalid(&format!("body trace_id {body_id:?} does not match the path's {trace_id:?}"));
        }
    }
    match to_row(&a, &trace_id, Some(location)) {
        Ok(row) => match store(&state, a, &row) {
            Ok(saved) => json_bytes(StatusCode::OK, Value::Object(saved).to_string()),
            Err(e) => databricks_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", &e),
        },
        Err(m) => invalid(&m),
    }
}

/// `POST /api/3.0/mlflow/traces/{trace_id}/assessments` (`tr-` ids, wrapped body).
pub async fn create_assessment_v3(
    State(state): State<SharedState>,
    Path(trace_id): Path<String>,
    body: String,
) -> Response {
    let bare = match trace_id::parse(&trace_id) {
        Ok(p) if p.location.is_none() && trace_id.starts_with("tr-") => p.bare,
        _ => return invalid(&format!("trace id {trace_id:?} is not of the form tr-<32 hex>")),
    };
    let wrapped: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let Some(Value::Object(a)) = wrapped.get("assessment").cloned() else {
        return invalid("request body must be {\"assessment\": {...}}");
    };
    match to_row(&a, &bare, None) {
        Ok(row) => match store(&state, a, &row) {
            Ok(saved) => json_bytes(StatusCode::OK, json!({"assessment": saved}).to_string()),
            Err(e) => databricks_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", &e),
        },
        Err(m) => invalid(&m),
    }
}
