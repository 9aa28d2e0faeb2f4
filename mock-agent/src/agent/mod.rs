//! The mock Agent App: `/invocations` and `/responses` like the MLflow agent server 3.18,
//! behind the bearer check a deployed Databricks App has, driven by a [`Scenario`].

mod control;
mod delivery;
mod echo;
mod framing;
mod planner;
mod render;
pub mod request;
pub mod scenario;
mod validate;

pub use scenario::Scenario;

use crate::assessments::{now_rfc3339_millis, AssessmentRow};
use crate::config::ServicePrincipal;
use crate::http_util::{bearer, databricks_error, detail, header_str, json_bytes};
use crate::journal::{ConnectionId, RequestSeq};
use crate::state::SharedState;
use crate::trace_id;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, post, MethodFilter, MethodRouter};
use axum::{Extension, Router};
use delivery::{Delivery, Ending};
use render::Turn;
use request::RequestError;
use scenario::{AgentKind, AgentType, Fault, Format, GuardrailMode, TraceIds};
use serde_json::{json, Value};
use std::time::Duration;

/// The recorded FastAPI documents of a ResponsesAgent server.
const OPENAPI_JSON: &str = include_str!("../../../fixtures/mlflow-agent-server-3.18/openapi.json");
const DOCS_HTML: &str = include_str!("../../../fixtures/mlflow-agent-server-3.18/docs.html");
/// `hang` gives up after this long, so a forgotten scenario cannot hold a task forever.
const HANG_LIMIT: Duration = Duration::from_secs(3600);

/// The caller the bearer check let in (None when auth is off).
#[derive(Clone)]
struct Caller(Option<ServicePrincipal>);

/// Routes of the agent listener.
pub fn router(state: SharedState) -> Router {
    let agent_api = Router::new()
        .route("/invocations", only("POST", post(invocations)))
        .route("/responses", only("POST", post(responses_route)))
        .route(
            "/health",
            only(
                "GET",
                on(MethodFilter::GET, || async { json_bytes(StatusCode::OK, r#"{"status":"healthy"}"#.into()) }),
            ),
        )
        .route("/agent/info", only("GET", on(MethodFilter::GET, agent_info)))
        .route("/openapi.json", only("GET", on(MethodFilter::GET, openapi)))
        .route("/docs", only("GET", on(MethodFilter::GET, docs)))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new().nest("/_mock", control::router()).merge(agent_api).with_state(state)
}

/// A route that answers other methods as FastAPI does: 405 with `allow`.
/// HEAD included: Starlette does not derive HEAD from GET routes (axum would).
fn only(allowed: &'static str, route: MethodRouter<SharedState>) -> MethodRouter<SharedState> {
    let not_allowed = move || async move {
        let mut resp = detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allowed));
        resp
    };
    route.head(not_allowed).fallback(not_allowed)
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

fn app_name() -> String {
    std::env::var("DATABRICKS_APP_NAME").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "mlflow_agent_server".into())
}

async fn agent_info(State(state): State<SharedState>) -> Response {
    let mut info = json!({"name": app_name(), "use_case": "agent", "mlflow_version": "3.18.0"});
    if state.scenarios.current().agent_type == AgentType::Responses {
        info["agent_api"] = json!("responses");
    }
    json_bytes(StatusCode::OK, info.to_string())
}

async fn openapi(State(state): State<SharedState>) -> Response {
    if state.scenarios.current().agent_type == AgentType::Responses {
        return json_bytes(StatusCode::OK, OPENAPI_JSON.to_string());
    }
    let mut doc: Value = serde_json::from_str(OPENAPI_JSON).expect("the recorded OpenAPI document is JSON");
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        paths.remove("/responses");
    }
    json_bytes(StatusCode::OK, doc.to_string())
}

async fn docs() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], DOCS_HTML).into_response()
}

/// `POST /responses` exists only on a ResponsesAgent server.
async fn responses_route(
    state: State<SharedState>,
    caller: Extension<Caller>,
    seq: Option<Extension<RequestSeq>>,
    connection: Option<Extension<ConnectionId>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if scenario_for(&state, &headers).is_ok_and(|s| s.agent_type != AgentType::Responses) {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    }
    invocations(state, caller, seq, connection, headers, body).await
}

fn scenario_for(state: &SharedState, headers: &HeaderMap) -> Result<Scenario, String> {
    let current = state.scenarios.current();
    match headers.get("x-mock-scenario") {
        None => Ok(current),
        Some(v) => current.merged(v.to_str().map_err(|_| "x-mock-scenario is not text".to_string())?),
    }
}

fn plain_500() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Internal Server Error")
        .into_response()
}

/// The standard Databricks error an AI Gateway guardrail answers with (inferred, see --help).
fn guardrail_block(message: &str) -> Response {
    databricks_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

async fn invocations(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    seq: Option<Extension<RequestSeq>>,
    connection: Option<Extension<ConnectionId>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let scenario = match scenario_for(&state, &headers) {
        Ok(s) => s,
        Err(e) => return detail(StatusCode::BAD_REQUEST, &e),
    };
    let cold = state.scenarios.take_cold_start();
    if cold && scenario.timing.cold_start_ms > 0 {
        tokio::time::sleep(Duration::from_millis(scenario.timing.cold_start_ms)).await;
    }
    if scenario.timing.ttfb_ms > 0 {
        tokio::time::sleep(Duration::from_millis(scenario.timing.ttfb_ms)).await;
    }
    match &scenario.fault {
        Some(Fault::Hang) => {
            tokio::time::sleep(HANG_LIMIT).await;
            return detail(StatusCode::GATEWAY_TIMEOUT, "mock hang limit reached");
        }
        Some(Fault::Status { status, body, content_type }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let ct =
                HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            return (status, [(header::CONTENT_TYPE, ct)], body.clone()).into_response();
        }
        _ => {}
    }

    let req = match request::parse(&body) {
        Ok(r) => r,
        Err(RequestError::InvalidJson(msg)) => {
            return detail(StatusCode::BAD_REQUEST, &format!("Invalid JSON in request body: {msg}"))
        }
        Err(RequestError::InternalServerError) => return plain_500(),
    };
    let validated = scenario.agent_type == AgentType::Responses;
    if validated {
        if let Some(msg) = validate::validate_request(&req.body) {
            return detail(StatusCode::BAD_REQUEST, &msg);
        }
    }
    let text = match scenario.agent {
        AgentKind::Echo => echo::last_user_text(&req.body),
        AgentKind::UntypedEcho => render::untyped_last_user_text(&req.body),
    };
    if let Some(g) = &scenario.guardrail {
        let lower = text.to_lowercase();
        let hit = g.keywords.iter().any(|k| !k.is_empty() && lower.contains(&k.to_lowercase()));
        match g.mode {
            GuardrailMode::Input if hit => {
                return guardrail_block(&format!("Request blocked by input guardrail '{}'.", g.name))
            }
            GuardrailMode::Output if req.stream => {
                return guardrail_block(&format!("Response blocked by output guardrail '{}'.", g.name))
            }
            _ => {}
        }
    }

    let wants_trace = header_str(&headers, "x-mlflow-return-trace-id").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let returns_trace =
        wants_trace && (scenario.trace_ids == TraceIds::OnRequest || scenario.agent_type == AgentType::Responses);
    let bare = trace_id::new_bare_id();
    let client_trace_id = trace_id::client_form(&state.config.trace_form(), &bare);
    record_feedback(&state, &caller, &headers, &bare);

    let mut last = text.clone();
    if let Some(Fault::HugeEvent { bytes }) = &scenario.fault {
        last.push_str(&"x".repeat(*bytes));
    }
    let fail_after = match (&scenario.fault, &scenario.guardrail) {
        (Some(Fault::ErrorFrameAfter { events, message }), _) => Some((*events, message.clone())),
        (_, Some(g)) if g.mode == GuardrailMode::OutputMidstream => Some((
            2,
            format!("Error code: 400 - {{'error_code': 'BAD_REQUEST', 'message': \"Response blocked by output guardrail '{}'.\"}}", g.name),
        )),
        _ if text == echo::BOOM && scenario.agent == AgentKind::Echo => Some((2, "deliberate failure mid-stream".to_string())),
        _ => None,
    };
    let turn = Turn {
        agent: scenario.agent,
        text: text.clone(),
        pieces: vec!["You ".into(), "said: ".into(), last],
        headers_seen: echo::headers_seen(&headers, scenario.echo_secrets),
        custom_inputs: req.body.get("custom_inputs").cloned(),
        fail_after,
        validated,
    };
    let trace = returns_trace.then_some(client_trace_id);

    // Huge events are built off the async workers and at most two at a time, so they can neither
    // stall other requests nor add up to unbounded memory.
    let huge = matches!(scenario.fault, Some(Fault::HugeEvent { .. }));
    let permit = match huge {
        true => Some(state.huge_events.clone().acquire_owned().await.expect("the semaphore is never closed")),
        false => None,
    };
    if !req.stream {
        let format = scenario.format;
        let unary = off_the_workers(huge, move || render::unary(&turn, format, trace.as_deref())).await;
        let status = StatusCode::from_u16(unary.status).unwrap_or(StatusCode::OK);
        return json_bytes(status, unary.body);
    }
    let ending = match scenario.fault {
        Some(Fault::TruncateAfter { writes }) => Ending::TruncateAfter(writes),
        Some(Fault::ResetAfter { writes }) => Ending::ResetAfter(writes),
        _ => Ending::Complete,
    };
    let content_type = match scenario.format {
        Format::ResponsesFull => "text/event-stream",
        _ => "text/event-stream; charset=utf-8",
    };
    let chunk_delay = Duration::from_millis(scenario.timing.chunk_delay_ms);
    let writes = off_the_workers(huge, move || planned_writes(&turn, &scenario, trace.as_deref())).await;
    let delivery =
        Delivery { writes, chunk_delay, ending, content_type, permit, connection: connection.map(|c| c.0 .0) };
    delivery::sse_response(delivery, state.journal.clone(), seq.map(|s| s.0 .0))
}

/// The stream's bytes, framed and cut into writes.
fn planned_writes(turn: &Turn, scenario: &Scenario, trace: Option<&str>) -> Vec<Bytes> {
    let events = render::stream(turn, scenario.format, trace);
    let mut framed = framing::frame(&events, &scenario.framing);
    if matches!(scenario.fault, Some(Fault::InvalidUtf8)) {
        framing::inject_invalid_utf8(&mut framed.bytes);
    }
    let bytes = Bytes::from(framed.bytes);
    planner::plan(&bytes, &framed.event_ends, &scenario.chunking).into_iter().map(|r| bytes.slice(r)).collect()
}

/// Runs CPU-heavy work on the blocking pool when it is big, inline otherwise.
async fn off_the_workers<T: Send + 'static>(heavy: bool, work: impl FnOnce() -> T + Send + 'static) -> T {
    if heavy {
        tokio::task::spawn_blocking(work).await.expect("rendering does not panic")
    } else {
        work()
    }
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
            crate::config::TraceIdForm::UcTablePrefix => Some(state.config.tracing_table.to_string()),
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
