//! Every request a mock listener receives, as it arrived — with secrets fingerprinted.

use crate::fingerprint::redact_header;
use axum::{
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Oldest entries are dropped past this many, so a long run cannot grow without bound.
const MAX_ENTRIES: usize = 10_000;
/// Request bodies larger than this are refused with 413 before they are buffered.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Only this much of each body is kept in the journal.
const MAX_JOURNALED_BODY: usize = 1024 * 1024;
/// Oldest entries are dropped while the kept bodies add up to more than this.
const MAX_JOURNALED_BYTES: usize = 64 * 1024 * 1024;

/// One received request.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    pub seq: u64,
    /// Which mock listener got it: `agent` or `workspace`.
    pub listener: &'static str,
    pub method: String,
    /// The request target exactly as sent (`//invocations`, `/invocations/invocations?x=1`).
    pub raw_path: String,
    /// Header names lower-cased, in arrival order; secret values as fingerprints.
    pub headers: Vec<(String, String)>,
    /// The body (at most 1 MiB of it), lossily decoded as UTF-8.
    pub body: String,
    pub body_len: usize,
    pub body_truncated: bool,
    pub received_unix_ms: u128,
    /// The status the mock answered with (filled once the handler returns).
    pub status: Option<u16>,
    /// The client connection it arrived on (see [`Journal::connections`]).
    pub connection: Option<u64>,
    /// When the response body ended: sent in full, or cut short (client gone, reset fault).
    pub body_ended_unix_ms: Option<u128>,
    /// Whether the whole response body was handed to the connection.
    pub body_complete: Option<bool>,
}

impl JournalEntry {
    /// The first value of a header (names compare case-insensitively), as journaled.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path(&self) -> &str {
        self.raw_path.split('?').next().unwrap_or("")
    }
}

/// A shared, bounded, append-only log of requests.
#[derive(Clone, Default)]
pub struct Journal {
    inner: Arc<Mutex<JournalInner>>,
}

#[derive(Default)]
struct JournalInner {
    next_seq: u64,
    entries: std::collections::VecDeque<JournalEntry>,
    /// Sum of the kept body lengths.
    body_bytes: usize,
    next_connection: u64,
    connections: Vec<ConnectionRecord>,
    /// Connections to close with a TCP RST (the reset fault).
    resets: std::collections::HashSet<u64>,
}

/// One client connection to a mock listener.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionRecord {
    pub id: u64,
    pub listener: &'static str,
    pub peer: String,
    pub opened_unix_ms: u128,
    /// When the connection closed (either side); None while open.
    pub closed_unix_ms: Option<u128>,
}

/// The journal sequence number of the request being handled (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct RequestSeq(pub u64);

/// The connection a request arrived on (axum connect info).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionId(pub u64);

impl Journal {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&self, mut entry: JournalEntry) -> u64 {
        let mut inner = self.inner.lock().expect("journal lock");
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        inner.body_bytes += entry.body.len();
        inner.entries.push_back(entry);
        while inner.entries.len() > MAX_ENTRIES || (inner.body_bytes > MAX_JOURNALED_BYTES && inner.entries.len() > 1) {
            if let Some(old) = inner.entries.pop_front() {
                inner.body_bytes -= old.body.len();
            }
        }
        inner.next_seq
    }

    fn update(&self, seq: u64, f: impl FnOnce(&mut JournalEntry)) {
        let mut inner = self.inner.lock().expect("journal lock");
        if let Some(e) = inner.entries.iter_mut().rev().find(|e| e.seq == seq) {
            f(e);
        }
    }

    /// Records how the response body of request `seq` ended.
    pub fn body_ended(&self, seq: u64, complete: bool) {
        self.update(seq, |e| {
            e.body_ended_unix_ms = Some(now_unix_ms());
            e.body_complete = Some(complete);
        });
    }

    /// Registers a new client connection and returns its id.
    pub fn connection_opened(&self, listener: &'static str, peer: String) -> u64 {
        let mut inner = self.inner.lock().expect("journal lock");
        inner.next_connection += 1;
        let id = inner.next_connection;
        if inner.connections.len() >= MAX_ENTRIES {
            inner.connections.remove(0);
        }
        inner.connections.push(ConnectionRecord {
            id,
            listener,
            peer,
            opened_unix_ms: now_unix_ms(),
            closed_unix_ms: None,
        });
        id
    }

    /// Marks a connection to be closed with a TCP RST.
    pub fn request_reset(&self, id: u64) {
        self.inner.lock().expect("journal lock").resets.insert(id);
    }

    /// Whether a connection was marked for a reset (clears the mark).
    pub fn take_reset(&self, id: u64) -> bool {
        self.inner.lock().expect("journal lock").resets.remove(&id)
    }

    pub fn connection_closed(&self, id: u64) {
        let mut inner = self.inner.lock().expect("journal lock");
        if let Some(c) = inner.connections.iter_mut().rev().find(|c| c.id == id) {
            c.closed_unix_ms = Some(now_unix_ms());
        }
    }

    /// Every client connection, oldest first.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.inner.lock().expect("journal lock").connections.clone()
    }

    /// A copy of every entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.inner.lock().expect("journal lock").entries.iter().cloned().collect()
    }

    /// The sequence number of the newest entry (0 when empty): a mark for [`Journal::since`].
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().expect("journal lock").entries.back().map_or(0, |e| e.seq)
    }

    /// Entries newer than `mark`, oldest first.
    pub fn since(&self, mark: u64) -> Vec<JournalEntry> {
        let inner = self.inner.lock().expect("journal lock");
        inner.entries.iter().filter(|e| e.seq > mark).cloned().collect()
    }

    /// Entries that match a filter.
    pub fn find(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        self.entries().into_iter().filter(|e| filter.matches(e)).collect()
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock().expect("journal lock");
        inner.entries.clear();
        inner.body_bytes = 0;
        inner.connections.retain(|c| c.closed_unix_ms.is_none());
    }
}

/// Query of `GET /_mock/journal`: every given field must match.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalFilter {
    pub listener: Option<String>,
    pub method: Option<String>,
    /// Exact path, without the query string.
    pub path: Option<String>,
    /// A substring the body must contain.
    pub body_contains: Option<String>,
}

impl JournalFilter {
    pub fn matches(&self, e: &JournalEntry) -> bool {
        self.listener.as_deref().is_none_or(|l| l == e.listener)
            && self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            && self.path.as_deref().is_none_or(|p| p == e.path())
            && self.body_contains.as_deref().is_none_or(|s| e.body.contains(s))
    }
}

fn now_unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// Middleware that buffers each request body (bounded), journals the request, and records the
/// status the handler answered with.
pub async fn record(State((listener, journal)): State<(&'static str, Journal)>, req: Request, next: Next) -> Response {
    // Control traffic is not what a test wants to verify.
    if req.uri().path().starts_with("/_mock/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            let (status, detail) = if too_large {
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large (the mock's limit is 16 MiB)".to_string())
            } else {
                (StatusCode::BAD_REQUEST, format!("unreadable request body: {e}"))
            };
            return crate::http_util::detail(status, &detail);
        }
    };
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            let name = n.as_str().to_ascii_lowercase();
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            let shown = redact_header(&name, &value);
            (name, shown)
        })
        .collect();
    let kept = &bytes[..bytes.len().min(MAX_JOURNALED_BODY)];
    let connection = parts.extensions.get::<axum::extract::ConnectInfo<ConnectionId>>().map(|c| c.0 .0);
    let raw_path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let body = redact_form_secrets(&String::from_utf8_lossy(kept));
    let seq = journal.push(JournalEntry {
        seq: 0,
        listener,
        method: parts.method.to_string(),
        raw_path,
        headers,
        body,
        body_len: bytes.len(),
        body_truncated: bytes.len() > kept.len(),
        received_unix_ms: now_unix_ms(),
        status: None,
        connection,
        body_ended_unix_ms: None,
        body_complete: None,
    });
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(RequestSeq(seq));
    if let Some(id) = connection {
        req.extensions_mut().insert(ConnectionId(id));
    }
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    journal.update(seq, |e| e.status = Some(status));
    resp
}

/// OAuth token requests may carry `client_secret` in a form body (client_secret_post): the
/// journal keeps only its fingerprint.
fn redact_form_secrets(body: &str) -> String {
    if !body.contains("client_secret=") {
        return body.to_string();
    }
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("client_secret", v)) => {
                format!("client_secret={}", crate::fingerprint::fingerprint(v))
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_secrets_are_fingerprinted() {
        let b = redact_form_secrets("grant_type=client_credentials&client_id=a&client_secret=s3cr3t");
        assert!(!b.contains("s3cr3t"));
        assert!(b.starts_with("grant_type=client_credentials&client_id=a&client_secret=fp:"));
        assert_eq!(redact_form_secrets("{\"input\":[]}"), "{\"input\":[]}");
    }
}
