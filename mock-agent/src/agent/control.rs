//! The runtime control API under `/_mock`: scenario, reset, journal.

use super::scenario::Scenario;
use crate::http_util::{detail, json_bytes};
use crate::journal::JournalFilter;
use crate::state::SharedState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/scenario", get(get_scenario).post(set_scenario))
        .route("/reset", post(reset))
        .route("/journal", get(journal))
        .route("/connections", get(connections))
}

async fn get_scenario(State(state): State<SharedState>) -> Response {
    json_bytes(StatusCode::OK, serde_json::to_string(&state.scenarios.current()).expect("a scenario serialises"))
}

/// Replaces the current scenario (fields left out take their defaults).
async fn set_scenario(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return detail(StatusCode::BAD_REQUEST, "the scenario is not UTF-8 text");
    };
    let scenario = match Scenario::parse(text) {
        Ok(s) => s,
        Err(e) => return detail(StatusCode::BAD_REQUEST, &e),
    };
    state.scenarios.set(scenario.clone());
    json_bytes(StatusCode::OK, serde_json::to_string(&scenario).expect("a scenario serialises"))
}

/// Start-up scenario, empty journal, cold start armed again.
async fn reset(State(state): State<SharedState>) -> Response {
    state.scenarios.reset();
    state.journal.clear();
    json_bytes(StatusCode::OK, r#"{"reset":true}"#.into())
}

async fn journal(
    State(state): State<SharedState>,
    filter: Result<Query<JournalFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filter = match filter {
        Ok(Query(f)) => f,
        Err(e) => {
            return detail(StatusCode::BAD_REQUEST, &format!("{e} (filters: listener, method, path, body_contains)"))
        }
    };
    let entries = state.journal.find(&filter);
    json_bytes(StatusCode::OK, json!({"entries": entries}).to_string())
}

async fn connections(State(state): State<SharedState>) -> Response {
    json_bytes(StatusCode::OK, json!({"connections": state.journal.connections()}).to_string())
}
