//! Verification in the spirit of wiremock-rs: say what should have arrived, get a message that
//! shows what did — near misses (`/invocations/invocations`, `//invocations`, a missing
//! header) named as such.

use crate::fingerprint::redact_header;
use crate::journal::{Journal, JournalEntry};
use std::fmt;

/// What a request must look like, and how many such requests must have arrived.
#[derive(Clone, Debug)]
pub struct Expectation {
    listener: String,
    method: Option<String>,
    path: Option<String>,
    headers: Vec<(String, Option<String>)>,
    body_contains: Vec<String>,
    times: Times,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    Exactly(usize),
    AtLeast(usize),
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Times::Exactly(1) => write!(f, "exactly once"),
            Times::Exactly(n) => write!(f, "exactly {n} times"),
            Times::AtLeast(n) => write!(f, "at least {n} times"),
        }
    }
}

impl Expectation {
    /// Requests to the agent listener with this method and exact path (query excluded).
    pub fn agent(method: &str, path: &str) -> Self {
        Self {
            listener: "agent".into(),
            method: Some(method.to_ascii_uppercase()),
            path: Some(path.into()),
            headers: vec![],
            body_contains: vec![],
            times: Times::AtLeast(1),
        }
    }

    /// `POST /invocations` on the agent.
    pub fn invocations() -> Self {
        Self::agent("POST", "/invocations")
    }

    /// Requests to the workspace listener.
    pub fn workspace(method: &str, path: &str) -> Self {
        Self { listener: "workspace".into(), ..Self::agent(method, path) }
    }

    /// The header must carry this value. Give secrets in clear: they are compared by
    /// fingerprint, as the journal holds them.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        let shown = redact_header(&name, value);
        self.headers.push((name, Some(shown)));
        self
    }

    /// The header must not be present.
    pub fn header_absent(mut self, name: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), None));
        self
    }

    pub fn body_contains(mut self, needle: &str) -> Self {
        self.body_contains.push(needle.into());
        self
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = Times::Exactly(n);
        self
    }

    pub fn at_least(mut self, n: usize) -> Self {
        self.times = Times::AtLeast(n);
        self
    }

    /// Why `e` does not match (empty: it matches).
    fn mismatches(&self, e: &JournalEntry) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(&e.method) {
                out.push(format!("method {} instead of {m}", e.method));
            }
        }
        if let Some(p) = &self.path {
            if e.path() != p {
                out.push(path_near_miss(p, e.path()));
            }
        }
        for (name, want) in &self.headers {
            match (want, e.header(name)) {
                (Some(w), Some(got)) if got == w => {}
                (Some(w), Some(got)) => out.push(format!("{name} is {got:?}, expected {w:?}")),
                (Some(_), None) => out.push(format!("{name} is missing")),
                (None, Some(got)) => out.push(format!("{name} is present ({got:?}) but must be absent")),
                (None, None) => {}
            }
        }
        for needle in &self.body_contains {
            if !e.body.contains(needle.as_str()) {
                out.push(format!("body does not contain {needle:?}"));
            }
        }
        out
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "{} {} on the {}",
            self.method.as_deref().unwrap_or("any method"),
            self.path.as_deref().unwrap_or("any path"),
            self.listener
        );
        for (name, want) in &self.headers {
            match want {
                Some(v) => s.push_str(&format!(", {name}: {v}")),
                None => s.push_str(&format!(", without {name}")),
            }
        }
        for needle in &self.body_contains {
            s.push_str(&format!(", body containing {needle:?}"));
        }
        s
    }

    /// Checks the journal.
    pub fn verify(&self, journal: &Journal) -> Result<(), VerifyError> {
        let seen: Vec<JournalEntry> = journal.entries().into_iter().filter(|e| e.listener == self.listener).collect();
        let matched = seen.iter().filter(|e| self.mismatches(e).is_empty()).count();
        let ok = match self.times {
            Times::Exactly(n) => matched == n,
            Times::AtLeast(n) => matched >= n,
        };
        if ok {
            return Ok(());
        }
        let received = seen
            .iter()
            .map(|e| {
                let why = self.mismatches(e);
                let verdict =
                    if why.is_empty() { "matches".to_string() } else { format!("near miss: {}", why.join("; ")) };
                format!(
                    "#{} {} {} -> {} ({verdict})",
                    e.seq,
                    e.method,
                    e.raw_path,
                    e.status.map_or("?".into(), |s| s.to_string())
                )
            })
            .collect();
        Err(VerifyError { expected: format!("{} {}", self.describe(), self.times), matched, received })
    }
}

/// A failed verification: what was expected and everything that arrived instead.
#[derive(Debug)]
pub struct VerifyError {
    pub expected: String,
    pub matched: usize,
    pub received: Vec<String>,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "expected {}; {} matched.", self.expected, self.matched)?;
        if self.received.is_empty() {
            write!(f, "nothing arrived on that listener")
        } else {
            writeln!(f, "received {} request(s):", self.received.len())?;
            for r in &self.received {
                writeln!(f, "  {r}")?;
            }
            Ok(())
        }
    }
}

impl std::error::Error for VerifyError {}

/// Names the usual ways a proxy gets the path almost right.
pub fn path_near_miss(want: &str, got: &str) -> String {
    let collapsed: String = {
        let mut out = String::new();
        for c in got.chars() {
            if !(c == '/' && out.ends_with('/')) {
                out.push(c);
            }
        }
        out
    };
    let why = if got == format!("{want}{want}") {
        " — the path was appended twice (AGENT_APP_URL already ended in it?)"
    } else if collapsed == want {
        " — doubled slash: AGENT_APP_URL's trailing slash was not removed"
    } else if got.trim_end_matches('/') == want {
        " — trailing slash"
    } else if got.eq_ignore_ascii_case(want) {
        " — wrong letter case"
    } else {
        ""
    };
    format!("path {got} instead of {want}{why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named() {
        assert!(path_near_miss("/invocations", "/invocations/invocations").contains("appended twice"));
        assert!(path_near_miss("/invocations", "//invocations").contains("trailing slash was not removed"));
        assert!(path_near_miss("/invocations", "/invocations/").contains("trailing slash"));
        assert!(path_near_miss("/invocations", "/Invocations").contains("letter case"));
        assert_eq!(path_near_miss("/invocations", "/chat"), "path /chat instead of /invocations");
    }
}
