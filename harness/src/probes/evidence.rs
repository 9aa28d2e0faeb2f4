//! What the agent actually received for a probe request, read from the mock's journal, and
//! the rules of the header contract checked against it.

use super::context::{ProbeContext, TestUser};
use super::Finding;
use mock_agent::fingerprint::fingerprint;
use mock_agent::verify::path_near_miss;
use mock_agent::JournalEntry;
use serde_json::Value;

/// The journal position before a request, so its upstream calls can be told apart.
pub fn mark(ctx: &ProbeContext) -> u64 {
    ctx.mock.journal.last_seq()
}

/// Agent requests that arrived after `mark`.
pub fn agent_requests_since(ctx: &ProbeContext, mark: u64) -> Vec<JournalEntry> {
    ctx.mock.journal.since(mark).into_iter().filter(|e| e.listener == "agent").collect()
}

/// One line describing a received request, for the evidence list.
pub fn describe(e: &JournalEntry) -> String {
    let interesting = ["authorization", "x-forwarded-access-token", "x-app-user-email", "x-mlflow-return-trace-id"];
    let headers: Vec<String> =
        interesting.iter().map(|h| format!("{h}={}", e.header(h).unwrap_or("(absent)"))).collect();
    let body: String = e.body.chars().take(160).collect();
    format!(
        "agent received {} {} -> {} [{}] body={}",
        e.method,
        e.raw_path,
        e.status.map_or("?".into(), |s| s.to_string()),
        headers.join(", "),
        body
    )
}

/// What a probe request should have produced upstream.
pub struct Expected<'a> {
    /// The body key the browser sent (`input` or `messages`); the proxy must forward it unchanged.
    pub body_key: &'a str,
    /// The message text (unique per request).
    pub message: &'a str,
    /// The user whose OBO token and email the request carried (None: SP-only).
    pub user: Option<&'a TestUser>,
    /// The other test user, to recognise leaks.
    pub other_user: Option<&'a TestUser>,
}

/// Picks the upstream request that belongs to this probe request and checks the contract on
/// it. `received` are the agent requests since the probe's mark.
pub fn check_upstream<'e>(
    ctx: &ProbeContext,
    received: &'e [JournalEntry],
    exp: &Expected<'_>,
) -> Result<&'e JournalEntry, Finding> {
    let Some(entry) = received.iter().find(|e| e.body.contains(exp.message)).or_else(|| received.first()) else {
        return Err(Finding::new(
            "no_upstream_call",
            "the agent received no request at all for this /api/chat call: the proxy answered without calling POST /invocations",
        ));
    };
    check_path(entry)?;
    check_authorization(ctx, entry, exp)?;
    check_body(entry, exp)?;
    check_user_headers(entry, exp)?;
    Ok(entry)
}

fn check_path(e: &JournalEntry) -> Result<(), Finding> {
    if e.method != "POST" {
        return Err(Finding::new(
            "upstream_wrong_method",
            format!("the proxy called {} {} on the agent; the contract is POST /invocations", e.method, e.raw_path),
        ));
    }
    if e.path() == "/invocations" {
        return Ok(());
    }
    Err(Finding::new(
        "upstream_wrong_path",
        format!(
            "the proxy called POST {} on the agent (answered {}): {}",
            e.raw_path,
            e.status.map_or("?".into(), |s| s.to_string()),
            path_near_miss("/invocations", e.path())
        ),
    ))
}

fn check_authorization(ctx: &ProbeContext, e: &JournalEntry, exp: &Expected<'_>) -> Result<(), Finding> {
    let Some(auth) = e.header("authorization") else {
        return Err(Finding::new(
            "upstream_missing_authorization",
            "the proxy sent no Authorization header to the agent, so the Apps platform answers 401: the app-to-app service-principal bearer (config.authenticate(headers)) must be set on every request, also when x-forwarded-access-token is present",
        ));
    };
    let fp = auth.split_once(' ').map_or(auth, |(_, c)| c);
    if let Some(user) = exp.user.into_iter().chain(exp.other_user).find(|u| fingerprint(&u.token) == fp) {
        return Err(Finding::new(
            "obo_token_sent_as_authorization",
            format!("the proxy sent the user's OBO token ({}) as Authorization: Bearer; the bearer must be the AppKit service principal's token and the user token goes in x-forwarded-access-token", user.email),
        ));
    }
    match ctx.mock.identity.principal_for_fingerprint(fp) {
        Some(p) if p.application_id == ctx.sp.client_id => Ok(()),
        Some(p) => Err(Finding::new(
            "upstream_authorization_not_sp",
            format!(
                "the bearer sent upstream belongs to principal {}, not to the AppKit app's service principal {}",
                p.application_id, ctx.sp.client_id
            ),
        )),
        None => Err(Finding::new(
            "upstream_authorization_not_sp",
            format!(
                "the bearer sent upstream ({auth}) was not issued by the workspace to the AppKit service principal"
            ),
        )),
    }
}

fn check_body(e: &JournalEntry, exp: &Expected<'_>) -> Result<(), Finding> {
    let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
    let keys: Vec<&str> = body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    let carries_message = body.get(exp.body_key).is_some_and(|v| v.to_string().contains(exp.message));
    if carries_message {
        return Ok(());
    }
    let detail = if e.body.contains(exp.message) {
        format!("the browser sent {{\"{}\": …}} but the agent received keys {keys:?}: the proxy must forward the originating body shape unchanged (no input↔messages rewriting)", exp.body_key)
    } else {
        format!("the browser sent {{\"{}\": …}} but the agent received a body without the user's message (keys {keys:?}): the proxy dropped {{{}}} callers — the agent answers an empty turn and the UI shows a blank chat", exp.body_key, exp.body_key)
    };
    Err(Finding::new("upstream_body_shape_changed", detail))
}

fn check_user_headers(e: &JournalEntry, exp: &Expected<'_>) -> Result<(), Finding> {
    let got_token = e.header("x-forwarded-access-token");
    let got_email = e.header("x-app-user-email");
    let Some(user) = exp.user else {
        if let Some(fp) = got_token {
            return Err(Finding::new(
                "obo_token_invented",
                format!("the browser request carried no x-forwarded-access-token, yet the proxy sent one ({fp}) upstream: a token cached from an earlier request?"),
            ));
        }
        if let Some(email) = got_email {
            return Err(Finding::new(
                "user_email_invented",
                format!("the browser request carried no x-forwarded-email, yet the proxy sent x-app-user-email {email:?} upstream: an identity from another request?"),
            ));
        }
        return Ok(());
    };
    let want = fingerprint(&user.token);
    match got_token {
        None => {
            return Err(Finding::new(
                "obo_token_not_forwarded",
                format!("the request for {} carried x-forwarded-access-token but the agent received none: forward it verbatim", user.email),
            ))
        }
        Some(fp) if fp == want => {}
        Some(fp) if exp.other_user.is_some_and(|o| fingerprint(&o.token) == fp) => {
            return Err(Finding::new(
                "obo_token_leaked_across_users",
                format!("the request for {} reached the agent with the OBO token of {} ({fp}): the proxy reuses a user token across requests — read x-forwarded-access-token inside the handler, never cache it", user.email, exp.other_user.map_or("", |o| o.email.as_str())),
            ))
        }
        Some(fp) => {
            return Err(Finding::new(
                "obo_token_altered",
                format!("the agent received x-forwarded-access-token {fp}, expected {want} (the browser's token, verbatim): no decoding or re-wrapping"),
            ))
        }
    }
    match got_email {
        Some(email) if email == user.email => Ok(()),
        None => Err(Finding::new(
            "user_email_not_forwarded",
            format!("the request for {} (x-forwarded-email) reached the agent without x-app-user-email: the agent will attribute feedback to the service principal", user.email),
        )),
        Some(email) => Err(Finding::new(
            "user_email_wrong",
            format!("the request for {} reached the agent with x-app-user-email {email:?}", user.email),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(headers: &[(&str, &str)]) -> JournalEntry {
        JournalEntry {
            seq: 1,
            listener: "agent",
            method: "POST".into(),
            raw_path: "/invocations".into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: String::new(),
            body_len: 0,
            body_truncated: false,
            received_unix_ms: 0,
            status: Some(200),
            connection: None,
            body_ended_unix_ms: None,
            body_complete: None,
        }
    }

    #[test]
    fn sp_only_requests_must_not_gain_a_user_identity() {
        let exp = Expected { body_key: "input", message: "m", user: None, other_user: None };
        assert!(check_user_headers(&entry(&[]), &exp).is_ok());
        let e = check_user_headers(&entry(&[("x-app-user-email", "alice@example.com")]), &exp).unwrap_err();
        assert_eq!(e.reason, "user_email_invented");
        let e = check_user_headers(&entry(&[("x-forwarded-access-token", "fp:0123456789ab")]), &exp).unwrap_err();
        assert_eq!(e.reason, "obo_token_invented");
    }
}
