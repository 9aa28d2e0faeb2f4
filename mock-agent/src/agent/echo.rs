//! The deterministic echo agent of the recordings (reference `app/agent_responses.py`):
//! "You said: <last user text>", streamed as three deltas and an output_item.done.

use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

pub const ITEM_ID: &str = "msg_echo_1";
/// A user message of exactly this text makes the agent fail (recorded as cases 21 and 22).
pub const BOOM: &str = "boom";

/// The headers the reference agent echoes back in `custom_outputs.headers_seen`.
const ECHOED_HEADERS: [&str; 5] = [
    "x-forwarded-access-token",
    "x-forwarded-email",
    "x-forwarded-user",
    "x-custom-header",
    "x-mlflow-return-trace-id",
];

/// The text of the last user message of `{"input": [...]}` or `{"messages": [...]}`.
pub fn last_user_text(body: &Map<String, Value>) -> String {
    let items = body.get("input").and_then(Value::as_array).or_else(|| body.get("messages").and_then(Value::as_array));
    for item in items.into_iter().flatten().rev() {
        if item.get("role").and_then(Value::as_str) != Some("user") {
            continue;
        }
        return match item.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
            _ => String::new(),
        };
    }
    String::new()
}

/// The echoed headers; secrets as fingerprints unless `echo_secrets` (the recording's way).
pub fn headers_seen(headers: &HeaderMap, echo_secrets: bool) -> Value {
    let mut seen = Map::new();
    for name in ECHOED_HEADERS {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let shown = if echo_secrets { v.to_string() } else { crate::fingerprint::redact_header(name, v) };
            seen.insert(name.to_string(), json!(shown));
        }
    }
    Value::Object(seen)
}

pub fn output_item(text: &str) -> Value {
    json!({"id": ITEM_ID, "content": [{"text": text, "type": "output_text", "annotations": []}], "role": "assistant", "type": "message"})
}

/// The unary body of `text` (`ResponsesAgentResponse.model_dump(exclude_none=True)` key order).
pub fn unary_body(text: &str, headers_seen: Value, custom_inputs: Option<&Value>) -> Value {
    let mut custom = Map::new();
    custom.insert("headers_seen".into(), headers_seen);
    if let Some(ci) = custom_inputs {
        custom.insert("custom_inputs_echo".into(), ci.clone());
    }
    let item = json!({"type": "message", "id": ITEM_ID, "content": [{"text": text, "type": "output_text", "annotations": []}], "role": "assistant"});
    json!({"object": "response", "output": [item], "custom_outputs": Value::Object(custom)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_last_user_text_in_both_shapes() {
        let b: Map<String, Value> = serde_json::from_str(
            r#"{"input":[{"role":"user","content":"a"},{"role":"assistant","content":"x"},{"role":"user","content":[{"type":"input_text","text":"b"},{"type":"input_text","text":"c"}]}]}"#,
        )
        .unwrap();
        assert_eq!(last_user_text(&b), "bc");
        let m: Map<String, Value> = serde_json::from_str(r#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        assert_eq!(last_user_text(&m), "hi");
        assert_eq!(last_user_text(&Map::new()), "");
    }

    #[test]
    fn unary_body_matches_the_recording_byte_for_byte() {
        let body = unary_body("You said: hello", json!({}), None);
        assert_eq!(
            crate::pyjson::compact(&body),
            r#"{"object":"response","output":[{"type":"message","id":"msg_echo_1","content":[{"text":"You said: hello","type":"output_text","annotations":[]}],"role":"assistant"}],"custom_outputs":{"headers_seen":{}}}"#
        );
    }
}
