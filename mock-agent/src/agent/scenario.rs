//! How the mock agent behaves: reply, wire format, validation, guardrails, chunking, timing
//! and faults. Set at start-up, replaced through `POST /_mock/scenario`, overridden per request
//! with an `x-mock-scenario: <json>` header (fields merged onto the current scenario).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// What the agent function does.
    pub agent: AgentKind,
    /// How the server validates requests (and whether `/responses` exists).
    pub agent_type: AgentType,
    /// The streaming / unary wire format of the `echo` agent.
    pub format: Format,
    /// When the server returns trace ids.
    pub trace_ids: TraceIds,
    pub guardrail: Option<Guardrail>,
    pub framing: Framing,
    pub chunking: Chunking,
    pub timing: Timing,
    pub fault: Option<Fault>,
    /// Echo `x-forwarded-access-token` in `custom_outputs.headers_seen` in clear, as the recorded
    /// reference agent does. Off by default: the token would travel back to the browser.
    pub echo_secrets: bool,
}

/// The agent function behind `/invocations`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    /// `app/agent_responses.py`: "You said: <last user text>" as Responses events.
    #[default]
    Echo,
    /// `app/agent_untyped.py`: chat-style dicts (`{"messages": …}` / `{"delta": …}`).
    UntypedEcho,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentType {
    /// `AgentServer()`: any JSON object reaches the agent.
    #[default]
    Untyped,
    /// `AgentServer("ResponsesAgent")`: pydantic validation, `{"messages"}` → 400.
    Responses,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// What the MLflow agent server sends for a ResponsesAgent: `data:` frames of
    /// `response.output_text.delta` / `response.output_item.done`, then `[DONE]`.
    #[default]
    Mlflow,
    /// The OpenAI Responses API event sequence (`event:` lines, `sequence_number`, no `[DONE]`).
    ResponsesFull,
    /// OpenAI `chat.completion.chunk` frames, a final `finish_reason`, `[DONE]`.
    Chat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceIds {
    /// On `x-mlflow-return-trace-id: true`, whatever the agent type (what the proxy contract
    /// needs end to end; the real untyped server never returns one).
    #[default]
    OnRequest,
    /// Exactly as recorded: only a `responses` agent type returns trace ids.
    AsRecorded,
}

/// AI Gateway guardrail reproduction. The error body is inferred, not recorded (see --help).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    pub mode: GuardrailMode,
    #[serde(default = "default_guardrail_name")]
    pub name: String,
    /// For `input`: a request whose last user message contains one of these is blocked.
    #[serde(default)]
    pub keywords: Vec<String>,
}

fn default_guardrail_name() -> String {
    "hopcheck_guardrail".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuardrailMode {
    /// Streaming requests get HTTP 400 before any SSE byte; `stream: false` succeeds.
    Output,
    /// Streaming requests fail after the first deltas with an error frame (HTTP 200).
    OutputMidstream,
    /// Requests containing a keyword get HTTP 400, streaming or not.
    Input,
}

/// How SSE events are written as bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Framing {
    pub line_ending: LineEnding,
    /// `data: x` (true) or `data:x`.
    pub data_space: bool,
    /// A `: keep-alive` comment line before every event.
    pub comments: bool,
    /// A UTF-8 byte-order mark before the first byte.
    pub bom: bool,
    /// JSON pretty-printed over several `data:` lines (joined by `\n` it is the same JSON).
    pub multiline_data: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Self { line_ending: LineEnding::Lf, data_space: true, comments: false, bom: false, multiline_data: false }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineEnding {
    #[default]
    Lf,
    Crlf,
    Cr,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::Crlf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
}

/// Where the byte stream is cut into writes; each write leaves as its own chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Chunking {
    /// One write per SSE event (the real server).
    #[default]
    PerEvent,
    /// Everything in one write.
    Coalesced,
    /// Writes of `size` bytes.
    Fixed { size: usize },
    /// Writes of 1..=`max` bytes drawn from a seeded generator (reproducible).
    Random { seed: u64, max: usize },
    /// Per event, and every multi-byte UTF-8 character cut in two.
    SplitUtf8,
    /// Per event, and every CR LF pair cut between the CR and the LF.
    SplitCrlf,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Delay before the response head (time to first byte).
    pub ttfb_ms: u64,
    /// Delay between writes.
    pub chunk_delay_ms: u64,
    /// Delay on the first request after start or reset.
    pub cold_start_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Answer this status and body instead of the agent.
    Status {
        status: u16,
        #[serde(default)]
        body: String,
        #[serde(default = "default_content_type")]
        content_type: String,
    },
    /// Drop the connection after this many writes (no terminating chunk).
    ResetAfter { writes: usize },
    /// End the stream cleanly after this many writes, without `[DONE]`.
    TruncateAfter { writes: usize },
    /// After this many agent events, the MLflow error frame (`data: {"error": …}`, `[DONE]`).
    ErrorFrameAfter {
        events: usize,
        #[serde(default = "default_error_message")]
        message: String,
    },
    /// Never answer (until the client goes away, or 1 hour).
    Hang,
    /// One text delta of this many bytes.
    HugeEvent { bytes: usize },
    /// Invalid UTF-8 bytes inside the first text delta.
    InvalidUtf8,
}

fn default_content_type() -> String {
    "application/json".into()
}

fn default_error_message() -> String {
    "deliberate failure mid-stream".into()
}

/// Largest `huge-event` the mock will build, so a scenario cannot exhaust memory.
pub const MAX_HUGE_EVENT: usize = 16 * 1024 * 1024;

impl Scenario {
    /// A whole scenario from JSON text: an object, every key known, every value possible.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("the scenario is not JSON: {e}"))?;
        Self::from_value(value)
    }

    fn from_value(value: Value) -> Result<Scenario, String> {
        if !value.is_object() {
            return Err("a scenario must be a JSON object".into());
        }
        let scenario: Scenario = serde_json::from_value(value.clone()).map_err(|e| format!("invalid scenario: {e}"))?;
        // serde cannot refuse extra fields on unit variants (`{"kind": "hang", "writes": 3}`):
        // whatever does not come back when the scenario is written out again was ignored.
        let canonical = serde_json::to_value(&scenario).expect("a scenario serialises");
        if let Some(path) = first_unknown_key(&value, &canonical, "") {
            return Err(format!("invalid scenario: unknown field `{path}`"));
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// This scenario with the fields of `overrides` (a JSON object) replaced.
    pub fn merged(&self, overrides: &str) -> Result<Scenario, String> {
        let patch: Value = serde_json::from_str(overrides).map_err(|e| format!("x-mock-scenario is not JSON: {e}"))?;
        if !patch.is_object() {
            return Err("x-mock-scenario must be a JSON object".into());
        }
        let mut base = serde_json::to_value(self).expect("a scenario serialises");
        merge(&mut base, patch);
        Self::from_value(base)
    }

    /// Combinations that cannot do what they say are refused, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        if self.chunking == Chunking::SplitCrlf && self.framing.line_ending != LineEnding::Crlf {
            return Err("chunking split-crlf needs framing.line_ending \"crlf\" (there is no CR LF to cut)".into());
        }
        if self.chunking == Chunking::SplitUtf8
            && (self.format != Format::ResponsesFull || self.agent != AgentKind::Echo)
        {
            return Err("chunking split-utf8 needs raw UTF-8 on the wire: the mlflow and chat formats escape non-ASCII (json.dumps ensure_ascii); use format responses-full with agent echo".into());
        }
        if let Some(g) = &self.guardrail {
            if g.mode == GuardrailMode::Input && g.keywords.iter().all(|k| k.trim().is_empty()) {
                return Err("an input guardrail needs at least one keyword".into());
            }
        }
        if let Some(Fault::Status { status, body, content_type }) = &self.fault {
            if !(200..=999).contains(status) {
                return Err(format!("status {status} cannot be answered as a response (use 200-999)"));
            }
            if matches!(status, 204 | 304) && !body.is_empty() {
                return Err(format!("a {status} response has no body"));
            }
            if axum::http::HeaderValue::from_str(content_type).is_err() {
                return Err(format!("content_type {content_type:?} is not a valid header value"));
            }
        }
        match &self.chunking {
            Chunking::Fixed { size: 0 } => return Err("chunking fixed needs size >= 1".into()),
            Chunking::Random { max: 0, .. } => return Err("chunking random needs max >= 1".into()),
            _ => {}
        }
        if let Some(Fault::HugeEvent { bytes }) = &self.fault {
            if *bytes > MAX_HUGE_EVENT {
                return Err(format!("huge-event is limited to {MAX_HUGE_EVENT} bytes"));
            }
        }
        Ok(())
    }
}

/// The first key path present in `input` but not in `canonical`.
fn first_unknown_key(input: &Value, canonical: &Value, at: &str) -> Option<String> {
    let (Value::Object(i), Value::Object(c)) = (input, canonical) else { return None };
    for (k, v) in i {
        let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
        match c.get(k) {
            None => return Some(path),
            Some(cv) => {
                if let Some(p) = first_unknown_key(v, cv, &path) {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// Objects merge key by key; anything else is replaced.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// The current default scenario and the cold-start latch.
pub struct ScenarioStore {
    initial: Scenario,
    current: RwLock<Scenario>,
    cold: AtomicBool,
}

impl ScenarioStore {
    pub fn new(initial: Scenario) -> Self {
        Self { current: RwLock::new(initial.clone()), initial, cold: AtomicBool::new(true) }
    }

    pub fn current(&self) -> Scenario {
        self.current.read().expect("scenario lock").clone()
    }

    pub fn set(&self, scenario: Scenario) {
        *self.current.write().expect("scenario lock") = scenario;
    }

    /// Back to the start-up scenario, with the cold start armed again.
    pub fn reset(&self) {
        self.set(self.initial.clone());
        self.cold.store(true, Ordering::SeqCst);
    }

    /// True exactly once after start or reset.
    pub fn take_cold_start(&self) -> bool {
        self.cold.swap(false, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_overrides_merge_onto_the_current_scenario() {
        let base = Scenario { format: Format::Chat, ..Scenario::default() };
        let s =
            base.merged(r#"{"framing": {"line_ending": "crlf"}, "chunking": {"mode": "fixed", "size": 3}}"#).unwrap();
        assert_eq!(s.format, Format::Chat);
        assert_eq!(s.framing.line_ending, LineEnding::Crlf);
        assert!(s.framing.data_space);
        assert_eq!(s.chunking, Chunking::Fixed { size: 3 });
    }

    #[test]
    fn bad_overrides_are_explained() {
        let base = Scenario::default();
        assert!(base.merged("nope").unwrap_err().contains("not JSON"));
        assert!(base.merged("[1]").unwrap_err().contains("JSON object"));
        assert!(base.merged(r#"{"formt": "chat"}"#).unwrap_err().contains("unknown field"));
        assert!(base.merged(r#"{"chunking": {"mode": "fixed", "size": 0}}"#).is_err());
        assert!(base.merged(r#"{"fault": {"kind": "huge-event", "bytes": 999999999999}}"#).is_err());
    }

    #[test]
    fn every_ignored_or_impossible_value_is_refused() {
        for (text, why) in [
            ("[]", "JSON object"),
            (r#"["untyped-echo", "responses"]"#, "JSON object"),
            (r#"{"fault": {"kind": "hang", "writes": 3}}"#, "fault.writes"),
            (r#"{"chunking": {"mode": "per-event", "size": 3}}"#, "chunking.size"),
            (r#"{"chunking": {"mode": "split-crlf"}}"#, "split-crlf"),
            (r#"{"chunking": {"mode": "split-utf8"}}"#, "split-utf8"),
            (r#"{"guardrail": {"mode": "input"}}"#, "keyword"),
            (r#"{"fault": {"kind": "status", "status": 101}}"#, "101"),
            (r#"{"fault": {"kind": "status", "status": 204, "body": "x"}}"#, "no body"),
            (r#"{"fault": {"kind": "status", "status": 500, "content_type": "bad\nheader"}}"#, "header value"),
        ] {
            let e = Scenario::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
        assert!(Scenario::parse(r#"{"format": "responses-full", "chunking": {"mode": "split-utf8"}}"#).is_ok());
        assert!(Scenario::parse(r#"{"framing": {"line_ending": "crlf"}, "chunking": {"mode": "split-crlf"}}"#).is_ok());
    }

    #[test]
    fn cold_start_fires_once_per_reset() {
        let store = ScenarioStore::new(Scenario::default());
        assert!(store.take_cold_start());
        assert!(!store.take_cold_start());
        store.reset();
        assert!(store.take_cold_start());
    }
}
