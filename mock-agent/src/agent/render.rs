//! The agent's turn rendered in one of the wire formats: unary bodies and SSE events.

use super::echo::{self, ITEM_ID};
use super::scenario::{AgentKind, Format};
use super::validate;
use crate::pyjson;
use serde_json::{json, Map, Value};

/// One SSE event before framing: optional `event:` name and the `data` text.
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    fn data(data: String) -> Self {
        Self { event: None, data }
    }

    fn done() -> Self {
        Self::data("[DONE]".into())
    }
}

/// What the agent does on this request, independent of the wire format.
pub struct Turn {
    pub agent: AgentKind,
    /// The last user message.
    pub text: String,
    /// Text pieces streamed as deltas (concatenated: "You said: <text>").
    pub pieces: Vec<String>,
    pub headers_seen: Value,
    pub custom_inputs: Option<Value>,
    /// Fail after this many agent events with this message (MLflow error frame).
    pub fail_after: Option<(usize, String)>,
    /// The request went through ResponsesAgent validation (invalid events become errors).
    pub validated: bool,
}

impl Turn {
    pub fn full_text(&self) -> String {
        self.pieces.concat()
    }
}

/// A unary answer: status and exact body bytes.
pub struct Unary {
    pub status: u16,
    pub body: String,
}

pub fn unary(turn: &Turn, format: Format, trace_id: Option<&str>) -> Unary {
    if turn.text == echo::BOOM && turn.agent == AgentKind::Echo {
        return Unary { status: 500, body: json!({"detail": "deliberate failure in invoke"}).to_string() };
    }
    let mut body = match (turn.agent, format) {
        (AgentKind::UntypedEcho, _) => json!({
            "messages": [{"role": "assistant", "content": turn.full_text(), "id": ITEM_ID}],
            "request_type": "dict"
        }),
        (AgentKind::Echo, Format::Mlflow) => {
            echo::unary_body(&turn.full_text(), turn.headers_seen.clone(), turn.custom_inputs.as_ref())
        }
        (AgentKind::Echo, Format::Chat) => json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": 0,
            "model": "mock-agent",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": turn.full_text()}, "finish_reason": "stop"}]
        }),
        (AgentKind::Echo, Format::ResponsesFull) => response_object(&turn.full_text(), "completed"),
    };
    if let Some(id) = trace_id {
        // `result["metadata"] = (result.get("metadata") or {}) | {"trace_id": …}`
        let meta = body.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut meta = meta;
        meta.insert("trace_id".into(), json!(id));
        body["metadata"] = Value::Object(meta);
    }
    Unary { status: 200, body: pyjson::compact(&body) }
}

/// The SSE events of a streaming answer.
pub fn stream(turn: &Turn, format: Format, trace_id: Option<&str>) -> Vec<SseEvent> {
    match (turn.agent, format) {
        (AgentKind::UntypedEcho, _) => {
            let events = turn
                .pieces
                .iter()
                .map(|p| json!({"delta": {"role": "assistant", "content": p, "id": ITEM_ID}}))
                .collect();
            mlflow_server_frames(events, turn, trace_id)
        }
        (AgentKind::Echo, Format::Mlflow) => {
            let mut events: Vec<Value> = turn
                .pieces
                .iter()
                .map(|p| json!({"type": "response.output_text.delta", "item_id": ITEM_ID, "delta": p}))
                .collect();
            if turn.text == "badevent" {
                // The recorded agent yields a delta without `delta` as its third event.
                if let Some(third) = events.get_mut(2) {
                    *third = json!({"type": "response.output_text.delta", "item_id": ITEM_ID});
                }
            }
            events.push(json!({
                "type": "response.output_item.done",
                "custom_outputs": {"headers_seen": turn.headers_seen},
                "item": echo::output_item(&turn.full_text())
            }));
            mlflow_server_frames(events, turn, trace_id)
        }
        (AgentKind::Echo, Format::Chat) => {
            let mut events: Vec<Value> = turn
                .pieces
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let delta = if i == 0 { json!({"role": "assistant", "content": p}) } else { json!({"content": p}) };
                    chat_chunk(delta, Value::Null)
                })
                .collect();
            events.push(chat_chunk(json!({}), json!("stop")));
            mlflow_server_frames(events, turn, trace_id)
        }
        (AgentKind::Echo, Format::ResponsesFull) => responses_full(turn, trace_id),
    }
}

fn chat_chunk(delta: Value, finish_reason: Value) -> Value {
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "mock-agent",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    })
}

/// What the MLflow agent server makes of the agent's events: each as a `json.dumps` data frame
/// (validated for a ResponsesAgent), then the trace frame and `[DONE]`; an exception becomes
/// `{"error": …}` and `[DONE]`, with no trace frame.
fn mlflow_server_frames(events: Vec<Value>, turn: &Turn, trace_id: Option<&str>) -> Vec<SseEvent> {
    let mut out = Vec::with_capacity(events.len() + 2);
    for (i, event) in events.into_iter().enumerate() {
        if let Some((after, message)) = &turn.fail_after {
            if i == *after {
                return error_tail(out, message);
            }
        }
        if turn.validated && is_delta_without_text(&event) {
            return error_tail(out, &validate::missing_delta_error(&event));
        }
        out.push(SseEvent::data(pyjson::dumps(&event)));
    }
    if let Some((after, message)) = &turn.fail_after {
        if *after >= out.len() {
            return error_tail(out, message);
        }
    }
    if let Some(id) = trace_id {
        out.push(SseEvent::data(pyjson::dumps(&json!({"trace_id": id}))));
    }
    out.push(SseEvent::done());
    out
}

fn is_delta_without_text(event: &Value) -> bool {
    event.get("type").and_then(Value::as_str) == Some("response.output_text.delta") && event.get("delta").is_none()
}

fn error_tail(mut out: Vec<SseEvent>, message: &str) -> Vec<SseEvent> {
    out.push(SseEvent::data(pyjson::dumps(&json!({"error": message}))));
    out.push(SseEvent::done());
    out
}

fn response_object(text: &str, status: &str) -> Value {
    let output = if text.is_empty() && status != "completed" { json!([]) } else { json!([completed_item(text)]) };
    json!({
        "id": "resp_mock",
        "object": "response",
        "created_at": 0,
        "status": status,
        "model": "mock-agent",
        "output": output,
        "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    })
}

fn completed_item(text: &str) -> Value {
    json!({"id": ITEM_ID, "type": "message", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// The OpenAI Responses API stream: named events with `sequence_number`, no `[DONE]`.
fn responses_full(turn: &Turn, trace_id: Option<&str>) -> Vec<SseEvent> {
    let mut seq = 0u64;
    let mut out = Vec::new();
    let mut push = |out: &mut Vec<SseEvent>, mut v: Value| {
        let kind = v["type"].as_str().unwrap_or("").to_string();
        v["sequence_number"] = json!(seq);
        seq += 1;
        out.push(SseEvent { event: Some(kind), data: pyjson::compact(&v) });
    };
    let text = turn.full_text();
    let mut created = response_object("", "in_progress");
    created["output"] = json!([]);
    push(&mut out, json!({"type": "response.created", "response": created.clone()}));
    push(&mut out, json!({"type": "response.in_progress", "response": created}));
    push(
        &mut out,
        json!({"type": "response.output_item.added", "output_index": 0,
        "item": {"id": ITEM_ID, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
    );
    push(
        &mut out,
        json!({"type": "response.content_part.added", "item_id": ITEM_ID, "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []}}),
    );
    for (i, piece) in turn.pieces.iter().enumerate() {
        if let Some((after, message)) = &turn.fail_after {
            if i == *after {
                push(&mut out, json!({"type": "error", "code": "server_error", "message": message, "param": null}));
                return out;
            }
        }
        push(
            &mut out,
            json!({"type": "response.output_text.delta", "item_id": ITEM_ID, "output_index": 0, "content_index": 0, "delta": piece}),
        );
    }
    push(
        &mut out,
        json!({"type": "response.output_text.done", "item_id": ITEM_ID, "output_index": 0, "content_index": 0, "text": text}),
    );
    push(
        &mut out,
        json!({"type": "response.content_part.done", "item_id": ITEM_ID, "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": text, "annotations": []}}),
    );
    push(&mut out, json!({"type": "response.output_item.done", "output_index": 0, "item": completed_item(&text)}));
    let mut done = response_object(&text, "completed");
    if let Some(id) = trace_id {
        done["metadata"] = json!({"trace_id": id});
    }
    push(&mut out, json!({"type": "response.completed", "response": done}));
    out
}

/// The untyped reference agent's view of the last user message (`str(m.get("content"))`).
pub fn untyped_last_user_text(body: &Map<String, Value>) -> String {
    let msgs = ["messages", "input"]
        .iter()
        .filter_map(|k| body.get(*k))
        .find(|v| super::request::truthy(v))
        .and_then(Value::as_array);
    for m in msgs.into_iter().flatten().rev() {
        if m.get("role").and_then(Value::as_str) == Some("user") {
            return match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => validate::pyrepr(other),
                None => "None".into(),
            };
        }
    }
    String::new()
}
