//! One browser → AppKit `/api/chat` round trip, and what the browser would make of it.

use super::context::{ProbeContext, TestUser};
use super::evidence::{self, Expected};
use super::Finding;
use crate::http::{self, Exchange, HttpErrorKind};
use crate::sse::{self, ChatTranscript};
use serde_json::{json, Value};

/// One chat request as a signed-in (or anonymous) browser sends it.
pub struct ChatCall<'a> {
    pub body_key: &'a str,
    pub message: String,
    pub user: Option<&'a TestUser>,
    pub other_user: Option<&'a TestUser>,
}

/// The verdict of one round trip, and the trace id the response carried (even when a rule
/// failed: probe 4 still reads the feedback of that trace).
pub struct RoundTrip {
    pub result: Result<ChatTranscript, Finding>,
    pub trace_id: Option<String>,
}

/// Sends the request, then checks the upstream evidence first (it names the root cause) and
/// the browser-visible response second.
pub async fn round_trip(ctx: &ProbeContext, call: &ChatCall<'_>, evidence_out: &mut Vec<String>) -> RoundTrip {
    let mut trace_id = None;
    let result = exchange_and_check(ctx, call, evidence_out, &mut trace_id).await;
    RoundTrip { result, trace_id }
}

async fn exchange_and_check(
    ctx: &ProbeContext,
    call: &ChatCall<'_>,
    evidence_out: &mut Vec<String>,
    trace_id: &mut Option<String>,
) -> Result<ChatTranscript, Finding> {
    let body = match call.body_key {
        "input" => json!({"input": [{"role": "user", "content": call.message}]}),
        _ => json!({"messages": [{"role": "user", "content": call.message}]}),
    };
    let mut headers =
        vec![("x-mlflow-return-trace-id", "true".to_string()), ("accept", "text/event-stream".to_string())];
    if let Some(u) = call.user {
        headers.push(("x-forwarded-access-token", u.token.clone()));
        headers.push(("x-forwarded-email", u.email.clone()));
        headers.push(("x-forwarded-preferred-username", u.email.clone()));
        headers.push(("x-forwarded-user", u.user_id.clone()));
    }
    let url = format!("{}/api/chat", ctx.proxy_url.trim_end_matches('/'));
    let mark = evidence::mark(ctx);
    let who = call.user.map_or("no user".to_string(), |u| u.email.clone());
    let result = http::post(&ctx.http, &url, &headers, body.to_string(), ctx.request_timeout).await;
    let received = evidence::agent_requests_since(ctx, mark);
    received.iter().for_each(|e| evidence_out.push(evidence::describe(e)));
    let exchange = match result {
        Ok(ex) => {
            evidence_out.push(format!(
                "POST /api/chat {{\"{}\"}} as {who} -> HTTP {} {} ({} ms)",
                call.body_key,
                ex.status,
                ex.content_type.as_deref().unwrap_or("(no content-type)"),
                ex.elapsed.as_millis()
            ));
            *trace_id = sse::read_sse(&ex.body)
                .trace_id
                .or_else(|| serde_json::from_str::<Value>(&ex.body).ok().and_then(|v| sse::read_unary(&v).trace_id));
            ex
        }
        Err(e) => {
            evidence_out.push(format!("POST /api/chat as {who} -> {e}"));
            let reason = match e.kind {
                HttpErrorKind::Connect => "proxy_unreachable",
                HttpErrorKind::Timeout => "proxy_timeout",
                HttpErrorKind::Protocol | HttpErrorKind::Request => "proxy_protocol_error",
            };
            return Err(Finding::new(reason, format!("POST {url}: {e}")));
        }
    };
    if exchange.status == 400 && exchange.body.contains("invalid_body_shape") {
        return Err(Finding::new(
            "valid_body_rejected",
            format!("the proxy rejected a valid {{\"{}\": [...]}} body with 400 invalid_body_shape: both {{input}} and {{messages}} must be accepted", call.body_key),
        ));
    }
    let expected =
        Expected { body_key: call.body_key, message: &call.message, user: call.user, other_user: call.other_user };
    let upstream = evidence::check_upstream(ctx, &received, &expected)?;
    let stream_requested = serde_json::from_str::<Value>(&upstream.body)
        .ok()
        .and_then(|b| b.get("stream").map(mock_agent::agent::request::truthy))
        .unwrap_or(false);
    read_browser_view(&exchange, &call.message, stream_requested)
}

/// What the browser's dual extractor shows for this response, or why it shows nothing.
fn read_browser_view(ex: &Exchange, message: &str, stream_requested: bool) -> Result<ChatTranscript, Finding> {
    let not_streamed = |what: &str| {
        Finding::new(
            "stream_not_requested",
            format!(
                "the proxy did not ask the agent to stream (no truthy \"stream\" in the upstream body), so the agent answered unary JSON and /api/chat {what}: the browser's SSE reader shows a blank chat. Send {{\"stream\": true}} upstream."
            ),
        )
    };
    if ex.status != 200 {
        let reason = format!("proxy_http_{}", ex.status);
        let hint = match ex.status {
            401 => "the agent rejected the upstream call as unauthenticated",
            403 => "the agent refused the service principal (CAN_USE missing or resource binding approval pending)",
            404 => "the agent has no such route",
            500..=599 => "the proxy failed",
            _ => "the browser gets no chat",
        };
        return Err(Finding::new(
            reason,
            format!("POST /api/chat answered HTTP {}: {hint}; body: {}", ex.status, ex.body_excerpt(240)),
        ));
    }
    if !ex.is_sse() {
        if !stream_requested {
            return Err(not_streamed(&format!(
                "returned it as {}",
                ex.content_type.as_deref().unwrap_or("(no content-type)")
            )));
        }
        let detail = format!(
            "/api/chat answered content-type {} instead of text/event-stream: {}",
            ex.content_type.as_deref().unwrap_or("(none)"),
            ex.body_excerpt(200)
        );
        return Err(Finding::new("not_sse", detail));
    }
    let t = sse::read_sse(&ex.body);
    if !stream_requested && t.text.is_empty() {
        return Err(not_streamed("relabelled it text/event-stream"));
    }
    if let Some(err) = t.errors.first() {
        return Err(Finding::new("agent_error_frame", format!("the stream carried an error frame: {err}")));
    }
    if t.frames == 0 {
        let hint = if stream_requested {
            ""
        } else {
            " (the proxy did not ask the agent to stream: no truthy \"stream\" upstream)"
        };
        return Err(Finding::new(
            "blank_chat",
            format!("the SSE response has no data: frames{hint}; body: {}", ex.body_excerpt(200)),
        ));
    }
    let expected = format!("You said: {message}");
    if t.text != expected {
        let what =
            if t.text.is_empty() { "no text at all (a blank chat)".to_string() } else { format!("{:?}", t.text) };
        return Err(Finding::new("wrong_text", format!("the dual extractor read {what}; the agent sent {expected:?}")));
    }
    if !t.saw_done {
        return Err(Finding::new(
            "stream_not_terminated",
            "the SSE stream ended without the agent's data: [DONE] frame (truncated pass-through?)",
        ));
    }
    if ex.body_truncated {
        return Err(Finding::new(
            "response_too_large",
            format!("the response exceeded {} bytes", http::MAX_BODY_BYTES),
        ));
    }
    Ok(t)
}
