//! Probe 4: the `user_feedback` assessment of probe 3's trace, read back through the SQL
//! warehouse after converting the client trace id to the bare id, names the user — not the
//! AppKit service principal. Missing evidence is a FAIL, never a pass or a skip.

use super::{Finding, ProbeContext, ProbeOutcome, ProbeResult, Verdict};
use crate::workspace_client::{self, QueryOutcome, SqlTarget};
use mock_agent::trace_id;
use std::time::{Duration, Instant};

/// The seed's sentinel for "the evidence needed to decide is not there".
pub const CONTRACT_MISSING: &str = "trace_assessment_api_contract_missing";

fn missing(sub: &str, detail: impl Into<String>) -> Finding {
    Finding::new(format!("{CONTRACT_MISSING}: {sub}"), detail)
}

pub async fn run(
    ctx: &ProbeContext,
    trace: Option<&str>,
    p3: &ProbeOutcome,
    evidence: &mut Vec<String>,
) -> ProbeResult {
    let expected = ctx.expected_email.as_deref().ok_or_else(|| {
        missing(
            "expected_user_email_unset",
            "EXPECTED_USER_EMAIL (--expected-email) is not set: there is nothing to compare source_id with",
        )
    })?;
    let warehouse_id = ctx.warehouse_id.as_deref().ok_or_else(|| {
        missing(
            "sql_warehouse_id_unset",
            "MLFLOW_TRACING_SQL_WAREHOUSE_ID is not set: the assessments table cannot be read",
        )
    })?;
    let table = ctx.tracing_table.as_ref().ok_or_else(|| {
        missing("tracing_table_unset", "MLFLOW_TRACING_TABLE (<catalog>.<schema>.<prefix>) is not set")
    })?;
    let client_id = trace.ok_or_else(|| missing("no_trace_id", why_no_trace(ctx, p3)))?;
    let parsed = trace_id::parse(client_id).map_err(|e| missing("malformed_trace_id", e.to_string()))?;
    if let Some(location) = &parsed.location {
        if *location != table.to_string() {
            return Err(missing(
                "trace_location_mismatch",
                format!("trace id {client_id} lives in {location}, but MLFLOW_TRACING_TABLE is {table}"),
            ));
        }
    }
    evidence.push(format!("trace id {client_id} -> bare id {}", parsed.bare));

    let token = workspace_client::oauth_token(&ctx.http, &ctx.workspace_url, &ctx.sp)
        .await
        .map_err(|e| missing("workspace_token_unavailable", e))?;
    ctx.redactor.add(&token);
    let target = SqlTarget { host: &ctx.workspace_url, token: &token, warehouse_id };
    let assessments = table.assessments_table();
    let sql = format!(
        "SELECT source_id, source_type FROM {assessments} WHERE trace_id = :trace_id AND assessment_name = 'user_feedback'"
    );
    let started = Instant::now();
    let rows = loop {
        let outcome =
            workspace_client::query(&ctx.http, &target, &sql, &[("trace_id", &parsed.bare)], ctx.request_timeout)
                .await
                .map_err(|e| missing("statement_api_error", e))?;
        match outcome {
            QueryOutcome::Failed(msg) => return Err(missing("statement_failed", format!("{sql} failed: {msg}"))),
            QueryOutcome::Rows { rows, .. } if !rows.is_empty() => break rows,
            QueryOutcome::Rows { .. } if started.elapsed() >= ctx.feedback_wait => {
                return Err(missing(
                    "no_assessment_row",
                    format!("{assessments} has no user_feedback row for trace {} after {:.1}s: the feedback path never wrote (or warehouse lag)", parsed.bare, ctx.feedback_wait.as_secs_f32()),
                ))
            }
            QueryOutcome::Rows { .. } => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    let shown: Vec<String> = rows
        .iter()
        .map(|r| {
            let cell = |i: usize| r.get(i).cloned().flatten().unwrap_or_else(|| "NULL".into());
            format!("source_id={} source_type={}", cell(0), cell(1))
        })
        .collect();
    evidence.push(format!("{assessments}: {} user_feedback row(s) for the trace: {}", rows.len(), shown.join("; ")));
    for row in &rows {
        let source = row.first().cloned().flatten();
        match source.as_deref() {
            Some(s) if s == expected => {}
            Some(s) if s == ctx.sp.client_id => {
                return Err(Finding::new(
                    "source_id_is_service_principal",
                    format!("the feedback's source_id is {s}, the AppKit service principal's client id — not {expected}: x-app-user-email was not forwarded by the proxy (or the agent ignored it), so every assessment looks like the same author"),
                ))
            }
            Some(s) => {
                return Err(Finding::new("source_id_mismatch", format!("the feedback's source_id is {s:?}, expected {expected:?}")))
            }
            None => return Err(Finding::new("source_id_missing", format!("the feedback row has a NULL source_id, expected {expected:?}"))),
        }
    }
    Ok(format!("user_feedback for {client_id} has source_id {expected} (read back through the SQL warehouse)"))
}

/// Why probe 3 produced no trace id, from what the agent received.
fn why_no_trace(ctx: &ProbeContext, p3: &ProbeOutcome) -> String {
    let message = ctx.message("appkit_with_obo", &ctx.users[0].email);
    let upstream: Vec<_> =
        ctx.mock.journal.entries().into_iter().filter(|e| e.listener == "agent" && e.body.contains(&message)).collect();
    let header_forwarded =
        upstream.iter().any(|e| e.header("x-mlflow-return-trace-id").is_some_and(|v| v.eq_ignore_ascii_case("true")));
    let agent_answered = upstream.iter().any(|e| e.status == Some(200));
    if p3.verdict == Verdict::Fail && !agent_answered {
        return format!(
            "probe 3 (appkit_with_obo) failed with {} before the agent answered, so there is no trace whose feedback could be read — fix that first",
            p3.reason
        );
    }
    if header_forwarded {
        "the agent was asked for the trace id (x-mlflow-return-trace-id: true reached it and it answered 200) but the /api/chat response carried none: the proxy dropped the data: {\"trace_id\": …} frame (or metadata.trace_id)".to_string()
    } else {
        "the /api/chat response carried no trace id: the MLflow agent server returns one only when the request has x-mlflow-return-trace-id: true, and the proxy did not forward that header from the browser request (the design document's \"Pattern A/B\" names no other working mechanism)".to_string()
    }
}
