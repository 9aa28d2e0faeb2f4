//! Nothing hopcheck prints may contain a secret: every known secret, and anything shaped like
//! a bearer credential, is replaced by its fingerprint.

use mock_agent::fingerprint::fingerprint;
use std::sync::{Arc, RwLock};

/// Known secrets of this run (client secret, issued tokens, the users' OBO tokens).
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret; short values are ignored so redaction cannot shred normal text.
    pub fn add(&self, secret: &str) {
        if secret.len() >= 6 {
            let mut s = self.secrets.write().expect("redactor lock");
            if !s.iter().any(|x| x == secret) {
                s.push(secret.to_string());
                // Longest first, so a secret containing another is replaced whole.
                s.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    /// `text` with every secret replaced by `[redacted fp:…]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.read().expect("redactor lock").iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), &format!("[redacted {}]", fingerprint(secret)));
            }
        }
        redact_access_token_values(&redact_issued_tokens(&redact_bearer_values(&out)))
    }
}

/// `Bearer <credential>` anywhere in text → `Bearer [redacted fp:…]`, for secrets hopcheck
/// never saw (a hostile proxy's own tokens echoed in an error body). Only credential-shaped
/// words of 8+ token characters count, so prose ("the SP bearer (HTTP 200)") is left alone.
fn redact_bearer_values(text: &str) -> String {
    const MARK: &str = "Bearer ";
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(MARK) {
        let (before, after) = rest.split_at(pos + MARK.len());
        out.push_str(before);
        let end = after.find(|c: char| !is_token_char(c)).unwrap_or(after.len());
        let credential = &after[..end];
        if credential.len() >= 8 && !credential.starts_with("fp:") {
            out.push_str(&format!("[redacted {}]", fingerprint(credential)));
        } else {
            out.push_str(credential);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Tokens the embedded workspace issues (`mock-oauth-<hex>`): a proxy may echo them before
/// hopcheck has seen them.
fn redact_issued_tokens(text: &str) -> String {
    const PREFIX: &str = "mock-oauth-";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(PREFIX) {
        let after = &rest[pos + PREFIX.len()..];
        let hex_len = after.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(after.len());
        out.push_str(&rest[..pos]);
        let token = &rest[pos..pos + PREFIX.len() + hex_len];
        out.push_str(&format!("[redacted {}]", fingerprint(token)));
        rest = &rest[pos + PREFIX.len() + hex_len..];
    }
    out.push_str(rest);
    out
}

/// The value of any JSON `"access_token": "…"` (an OAuth response echoed by a proxy).
fn redact_access_token_values(text: &str) -> String {
    const KEY: &str = "\"access_token\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(KEY) {
        let after_key = &rest[pos + KEY.len()..];
        let colon = after_key.len() - after_key.trim_start().len();
        let Some(value) = after_key.trim_start().strip_prefix(':') else {
            out.push_str(&rest[..pos + KEY.len()]);
            rest = after_key;
            continue;
        };
        let ws = value.len() - value.trim_start().len();
        let Some(body) = value.trim_start().strip_prefix('"') else {
            out.push_str(&rest[..pos + KEY.len()]);
            rest = after_key;
            continue;
        };
        let end = body.find('"').unwrap_or(body.len());
        let secret = &body[..end];
        out.push_str(&rest[..pos + KEY.len() + colon + 1 + ws + 1]);
        if secret.starts_with("[redacted") {
            out.push_str(secret);
        } else {
            out.push_str(&format!("[redacted {}]", fingerprint(secret)));
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_and_bearer_values_are_replaced() {
        let r = Redactor::new();
        r.add("hopcheck-obo-alice-123456");
        let text = "token hopcheck-obo-alice-123456 and Authorization: Bearer eyJabc.def, done";
        let out = r.redact(text);
        assert!(!out.contains("hopcheck-obo-alice-123456"), "{out}");
        assert!(!out.contains("eyJabc.def"), "{out}");
        assert!(out.contains("[redacted fp:"), "{out}");
        assert!(out.ends_with(", done"));
    }

    #[test]
    fn redaction_is_idempotent_and_leaves_plain_text_alone() {
        let r = Redactor::new();
        r.add("secret-value");
        let once = r.redact("Bearer secret-value");
        assert_eq!(r.redact(&once), once);
        assert_eq!(r.redact("no secrets here"), "no secrets here");
        assert_eq!(r.redact("bearer"), "bearer");
        assert_eq!(r.redact("the SP bearer (HTTP 200)"), "the SP bearer (HTTP 200)");
        assert_eq!(r.redact("Bearer fp:0123456789ab"), "Bearer fp:0123456789ab");
    }

    #[test]
    fn issued_tokens_and_access_token_values_are_redacted_unseen() {
        let r = Redactor::new();
        let out =
            r.redact(r#"| {"access_token":"eyJhbGciOi.x.y","token":"mock-oauth-50e548f8b7", "access_token" : "z"}"#);
        assert!(!out.contains("eyJhbGciOi") && !out.contains("50e548f8b7") && !out.contains("\"z\""), "{out}");
        assert!(out.contains(r#""access_token":"[redacted fp:"#), "{out}");
        assert_eq!(r.redact(r#"{"access_token": 5}"#), r#"{"access_token": 5}"#);
    }
}
