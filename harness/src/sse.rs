//! Reading a chat response as the browser's dual extractor does: SSE frames carrying Responses
//! API deltas (`response.output_text.delta`) or OpenAI chat chunks (`choices[0].delta.content`),
//! plus the MLflow server's own `{"trace_id"}` and `{"error"}` frames.

use serde_json::Value;

/// What a chat response contained.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ChatTranscript {
    /// Concatenated text deltas.
    pub text: String,
    /// `data:` payloads seen, including `[DONE]`.
    pub frames: usize,
    pub saw_done: bool,
    /// A trace id from a `{"trace_id"}` frame or a unary `metadata.trace_id`.
    pub trace_id: Option<String>,
    /// `{"error": …}` frames (MLflow's mid-stream failure).
    pub errors: Vec<String>,
    /// `data:` payloads that were not JSON (and not `[DONE]`).
    pub non_json_frames: usize,
}

/// Splits an SSE byte stream into the `data` of each event (multi-line data joined by `\n`),
/// accepting LF, CRLF and CR line endings, `data:` with or without the space, and comments.
pub fn data_payloads(body: &str) -> Vec<String> {
    let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
    let normalized = normalized.strip_prefix('\u{feff}').unwrap_or(&normalized);
    let mut events = Vec::new();
    let mut current: Option<String> = None;
    for line in normalized.split('\n') {
        if line.is_empty() {
            if let Some(data) = current.take() {
                events.push(data);
            }
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match current.as_mut() {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => current = Some(value.to_string()),
            }
        }
    }
    // An event is only dispatched at a blank line; a trailing partial event is dropped, as a
    // browser EventSource does.
    events
}

/// The dual extractor over a whole SSE body.
pub fn read_sse(body: &str) -> ChatTranscript {
    let mut t = ChatTranscript::default();
    for payload in data_payloads(body) {
        t.frames += 1;
        if payload.trim() == "[DONE]" {
            t.saw_done = true;
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&payload) else {
            t.non_json_frames += 1;
            continue;
        };
        if let Some(delta) = text_delta(&v) {
            t.text.push_str(delta);
        }
        // MLflow's server frame, or the Responses API's final response object.
        let trace = v.get("trace_id").or_else(|| v.pointer("/response/metadata/trace_id"));
        if let Some(id) = trace.and_then(Value::as_str) {
            t.trace_id = Some(id.to_string());
        }
        if let Some(e) = v.get("error") {
            t.errors.push(e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()));
        }
    }
    t
}

/// The text delta of one event in either streaming format.
pub fn text_delta(v: &Value) -> Option<&str> {
    if v.get("type").and_then(Value::as_str) == Some("response.output_text.delta") {
        return v.get("delta").and_then(Value::as_str);
    }
    v.get("choices")?.get(0)?.get("delta")?.get("content")?.as_str()
}

/// Text and trace id of a unary JSON body (Responses output object or chat.completion), for
/// explaining what a proxy sent instead of a stream.
pub fn read_unary(v: &Value) -> ChatTranscript {
    let mut t = ChatTranscript::default();
    if let Some(items) = v.get("output").and_then(Value::as_array) {
        for item in items {
            for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                if let Some(s) = part.get("text").and_then(Value::as_str) {
                    t.text.push_str(s);
                }
            }
        }
    }
    if let Some(s) = v.pointer("/choices/0/message/content").and_then(Value::as_str) {
        t.text.push_str(s);
    }
    t.trace_id = v.pointer("/metadata/trace_id").and_then(Value::as_str).map(str::to_string);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_mlflow_stream() {
        let body = "data: {\"type\": \"response.output_text.delta\", \"item_id\": \"m\", \"delta\": \"You \"}\n\n\
                    data: {\"type\": \"response.output_text.delta\", \"item_id\": \"m\", \"delta\": \"said: hi\"}\n\n\
                    data: {\"trace_id\": \"tr-0af7651916cd43dd8448eb211c80319c\"}\n\n\
                    data: [DONE]\n\n";
        let t = read_sse(body);
        assert_eq!(t.text, "You said: hi");
        assert_eq!(t.trace_id.as_deref(), Some("tr-0af7651916cd43dd8448eb211c80319c"));
        assert!(t.saw_done);
        assert_eq!(t.frames, 4);
    }

    #[test]
    fn reads_chat_chunks_with_crlf_comments_and_no_space() {
        let body = ": keep-alive\r\n\r\ndata:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\r\r\ndata: [DONE]\n\n";
        let t = read_sse(body);
        assert_eq!(t.text, "ab");
        assert!(t.saw_done);
    }

    #[test]
    fn error_frames_and_partial_events_are_reported_not_hidden() {
        let t =
            read_sse("data: {\"error\": \"boom\"}\n\ndata: [DONE]\n\ndata: {\"type\": \"response.output_text.delta\"");
        assert_eq!(t.errors, vec!["boom".to_string()]);
        assert_eq!(t.frames, 2);
        assert_eq!(t.text, "");
    }

    #[test]
    fn unary_bodies_expose_text_and_trace() {
        let v: Value = serde_json::from_str(r#"{"object":"response","output":[{"type":"message","content":[{"text":"You said: x","type":"output_text"}]}],"metadata":{"trace_id":"tr-1"}}"#).unwrap();
        let t = read_unary(&v);
        assert_eq!(t.text, "You said: x");
        assert_eq!(t.trace_id.as_deref(), Some("tr-1"));
    }
}
