//! The mock Agent App: `/invocations` and `/responses` like the MLflow agent server 3.18,
//! behind the bearer check a deployed Databricks App has.

mod echo;
pub mod request;

use crate::assessments::{now_rfc3339_millis, AssessmentRow};
use crate::config::ServicePrincipal;
use crate::http_util::{bearer, databricks_error, detail, header_str, json_bytes};
use crate::journal::JournalFilter;
use crate::pyjson;
use crate::state::SharedState;
use crate::trace_id;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Router};
use echo::StreamEvent;
use futures_util::StreamExt;
use request::RequestError;
use serde_json::json;

/// The caller the bearer check let in (None when auth is off).
#[derive(Clone)]
struct Caller(Option<ServicePrincipal>);

/// Routes of the agent listener.
pub fn router(state: SharedState) -> Router {
    let agent_api = Router::new()
        .route("/invocations", only("POST", post(invocations)))
        .route("/responses", only("POST", post(invocations)))
        .route(
            "/health",
            only(
                "GET",
                get(|| async { json_bytes(StatusCode::OK, r#"{"status":"healthy"}"#.into()) }),
            ),
        )
        .route("/agent/info", only("GET", get(agent_info)))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/_mock/journal", get(journal))
        .merge(agent_api)
        .with_state(state)
}

/// A route that answers other methods as FastAPI does: 405 with `allow`.
fn only(allowed: &'static str, route: MethodRouter<SharedState>) -> MethodRouter<SharedState> {
    route.fallback(move || async move {
        let mut resp = detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allowed));
        resp
    })
}

/// What the Databricks Apps front door does: no bearer → 401; a principal without CAN_USE →
/// 403. The real MLflow server does no auth itself (`--auth off`).
async fn authenticate(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    if !state.config.agent_auth {
        req.extensions_mut().insert(Caller(None));
        return next.run(req).await;
    }
    let Some(token) = bearer(req.headers()) else {
        return databricks_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "No bearer token: Databricks Apps require Authorization: Bearer <token> for app-to-app calls.",
        );
    };
    let Some(principal) = state.identity.principal_for_token(token) else {
        return databricks_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Invalid or expired bearer token (not issued by this workspace).",
        );
    };
    if !principal.can_use_agent_app {
        return databricks_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            &format!(
                "App not authorized: principal {} lacks CAN_USE on app {}.",
                principal.application_id, state.config.agent_app_name
            ),
        );
    }
    req.extensions_mut().insert(Caller(Some(principal)));
    next.run(req).await
}

async fn agent_info() -> Response {
    json_bytes(
        StatusCode::OK,
        r#"{"name":"mlflow_agent_server","use_case":"agent","mlflow_version":"3.18.0"}"#.into(),
    )
}

async fn journal(
    State(state): State<SharedState>,
    Query(filter): Query<JournalFilter>,
) -> Response {
    let entries = state.journal.find(&filter);
    json_bytes(StatusCode::OK, json!({"entries": entries}).to_string())
}

async fn invocations(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = match request::parse(&body) {
        Ok(r) => r,
        Err(RequestError::InvalidJson(msg)) => {
            return detail(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON in request body: {msg}"),
            )
        }
        Err(RequestError::InternalServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Internal Server Error",
            )
                .into_response()
        }
    };
    let return_trace = header_str(&headers, "x-mlflow-return-trace-id")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let text = echo::last_user_text(&req.body);
    let seen = echo::headers_seen(&headers);
    let bare = trace_id::new_bare_id();
    let client_trace_id = trace_id::client_form(&state.config.trace_form(), &bare);
    record_feedback(&state, &caller, &headers, &bare);

    if !req.stream {
        if text == echo::BOOM {
            return detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "deliberate failure in invoke",
            );
        }
        let body = echo::unary_body(
            &text,
            seen,
            req.body.get("custom_inputs"),
            return_trace.then_some(client_trace_id.as_str()),
        );
        return json_bytes(StatusCode::OK, pyjson::compact(&body));
    }

    let mut frames: Vec<String> = Vec::new();
    let mut failed = false;
    for event in echo::stream_events(&text, seen) {
        match event {
            StreamEvent::Event(v) => frames.push(format!("data: {}\n\n", pyjson::dumps(&v))),
            StreamEvent::Error(msg) => {
                frames.push(format!(
                    "data: {}\n\n",
                    pyjson::dumps(&json!({"error": msg}))
                ));
                failed = true;
                break;
            }
        }
    }
    if return_trace && !failed {
        frames.push(format!(
            "data: {}\n\n",
            pyjson::dumps(&json!({"trace_id": client_trace_id}))
        ));
    }
    frames.push("data: [DONE]\n\n".into());
    sse_response(frames)
}

/// Each frame leaves as its own write: the stream pauses between frames so hyper flushes.
fn sse_response(frames: Vec<String>) -> Response {
    let stream = futures_util::stream::iter(frames).then(|frame| async move {
        tokio::task::yield_now().await;
        Ok::<Bytes, std::convert::Infallible>(Bytes::from(frame))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The agent logs a `user_feedback` assessment for every trace: attributed to the inbound
/// `x-app-user-email`, else (the failure probe 4 catches) to the calling service principal.
fn record_feedback(state: &SharedState, caller: &Caller, headers: &HeaderMap, bare_trace_id: &str) {
    let source_id = header_str(headers, "x-app-user-email")
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .or_else(|| caller.0.as_ref().map(|p| p.application_id.clone()));
    let row = AssessmentRow {
        trace_id: bare_trace_id.to_string(),
        trace_location: match state.config.trace_id_form {
            crate::config::TraceIdForm::UcTablePrefix => {
                Some(state.config.tracing_table.to_string())
            }
            crate::config::TraceIdForm::Experiment => None,
        },
        assessment_name: "user_feedback".into(),
        source_type: "HUMAN".into(),
        source_id,
        value: Some("true".into()),
        rationale: Some("recorded by the hopcheck mock agent for every trace".into()),
        metadata: Some(json!({"mock": "hopcheck"}).to_string()),
        create_time: now_rfc3339_millis(),
    };
    if let Err(e) = state.assessments.insert(&row) {
        tracing::error!("mock agent could not write its feedback row: {e}");
    }
}
