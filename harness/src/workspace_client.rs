//! The workspace calls the harness makes: an OAuth M2M token and SQL through the Statement
//! Execution API (with polling, bounded in time).

use crate::http::{self, Exchange};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// OAuth M2M client credentials.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

/// `POST /oidc/v1/token` with Basic auth.
pub async fn oauth_token(client: &reqwest::Client, host: &str, creds: &Credentials) -> Result<String, String> {
    let url = format!("{}/oidc/v1/token", host.trim_end_matches('/'));
    let request = client
        .post(&url)
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")]);
    let ex = http::send(request, &url, Duration::from_secs(15)).await?;
    let body: Value = serde_json::from_str(&ex.body).unwrap_or(Value::Null);
    match body.get("access_token").and_then(Value::as_str) {
        Some(t) if ex.status == 200 => Ok(t.to_string()),
        _ => Err(format!(
            "the workspace token endpoint {url} answered HTTP {} without an access_token ({})",
            ex.status,
            ex.body_excerpt(200)
        )),
    }
}

/// A statement's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutcome {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    /// `status.state = FAILED` (HTTP 200) or a rejected request (non-200).
    Failed(String),
}

pub struct SqlTarget<'a> {
    pub host: &'a str,
    pub token: &'a str,
    pub warehouse_id: &'a str,
}

/// Runs one statement with named parameters, polling until it ends or `deadline` passes.
pub async fn query(
    client: &reqwest::Client,
    target: &SqlTarget<'_>,
    sql: &str,
    params: &[(&str, &str)],
    deadline: Duration,
) -> Result<QueryOutcome, String> {
    let started = Instant::now();
    let base = format!("{}/api/2.0/sql/statements", target.host.trim_end_matches('/'));
    let parameters: Vec<Value> = params.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
    let body = json!({
        "warehouse_id": target.warehouse_id,
        "statement": sql,
        "parameters": parameters,
        "wait_timeout": "10s",
        "disposition": "INLINE",
        "format": "JSON_ARRAY"
    });
    let request = client.post(&base).bearer_auth(target.token).json(&body);
    let mut ex = http::send(request, &base, deadline).await?;
    loop {
        if let Some(outcome) = interpret(&ex)? {
            return Ok(outcome);
        }
        let statement_id = serde_json::from_str::<Value>(&ex.body)
            .ok()
            .and_then(|v| v.get("statement_id").and_then(Value::as_str).map(str::to_string))
            .ok_or("a PENDING/RUNNING statement came back without a statement_id")?;
        if started.elapsed() >= deadline {
            return Err(format!("statement {statement_id} did not finish within {}s", deadline.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let url = format!("{base}/{statement_id}");
        ex = http::send(client.get(&url).bearer_auth(target.token), &url, deadline).await?;
    }
}

/// `Some(outcome)` once the statement is terminal; `None` while PENDING/RUNNING.
fn interpret(ex: &Exchange) -> Result<Option<QueryOutcome>, String> {
    if ex.status != 200 {
        return Ok(Some(QueryOutcome::Failed(format!("HTTP {}: {}", ex.status, ex.body_excerpt(300)))));
    }
    let v: Value =
        serde_json::from_str(&ex.body).map_err(|e| format!("the Statement Execution API answered non-JSON: {e}"))?;
    let state = v.pointer("/status/state").and_then(Value::as_str).unwrap_or("");
    match state {
        "PENDING" | "RUNNING" => Ok(None),
        "SUCCEEDED" => {
            let columns = v
                .pointer("/manifest/schema/columns")
                .and_then(Value::as_array)
                .map(|cols| {
                    cols.iter().filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string)).collect()
                })
                .unwrap_or_default();
            // A zero-row result has no data_array at all.
            let rows = v
                .pointer("/result/data_array")
                .and_then(Value::as_array)
                .map(|rows| {
                    rows.iter()
                        .map(|r| {
                            r.as_array()
                                .map(|cells| cells.iter().map(|c| c.as_str().map(str::to_string)).collect())
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Some(QueryOutcome::Rows { columns, rows }))
        }
        "FAILED" | "CANCELED" | "CLOSED" => {
            let code = v.pointer("/status/error/error_code").and_then(Value::as_str).unwrap_or("");
            let msg = v.pointer("/status/error/message").and_then(Value::as_str).unwrap_or("");
            Ok(Some(QueryOutcome::Failed(format!("{state} {code}: {msg}"))))
        }
        other => Err(format!("the Statement Execution API answered an unknown state {other:?}")),
    }
}
