//! Probe 1: the agent itself answers `POST /invocations` with the AppKit SP's bearer.

use super::{Finding, ProbeContext, ProbeResult};
use crate::http;
use crate::sse;
use crate::workspace_client;
use serde_json::json;

pub async fn run(ctx: &ProbeContext, evidence: &mut Vec<String>) -> ProbeResult {
    let token = workspace_client::oauth_token(&ctx.http, &ctx.workspace_url, &ctx.sp)
        .await
        .map_err(|e| Finding::new("sp_token_unavailable", e))?;
    ctx.redactor.add(&token);
    let message = ctx.message("agent_direct", "sp");
    let url = format!("{}/invocations", ctx.agent_url.trim_end_matches('/'));
    let body = json!({"input": [{"role": "user", "content": message}], "stream": true});
    let ex = http::post(
        &ctx.http,
        &url,
        &[("authorization", format!("Bearer {token}"))],
        body.to_string(),
        ctx.request_timeout,
    )
    .await
    .map_err(|e| Finding::new("agent_unreachable", e))?;
    evidence.push(format!("POST {url} with the SP bearer -> HTTP {} ({} ms)", ex.status, ex.elapsed.as_millis()));
    match ex.status {
        200 => {}
        401 => {
            return Err(Finding::new(
                "agent_http_401",
                format!(
                    "the agent app rejected the SP bearer: the SP lacks CAN_USE or the token is invalid ({})",
                    ex.body_excerpt(200)
                ),
            ))
        }
        403 => {
            return Err(Finding::new(
                "agent_http_403",
                format!("the agent app refused the SP: CAN_USE missing or approval pending ({})", ex.body_excerpt(200)),
            ))
        }
        404 => return Err(Finding::new(
            "agent_http_404",
            "the agent app has no POST /invocations: it was not authored with mlflow.genai.agent_server / AgentServer",
        )),
        s => {
            return Err(Finding::new(
                format!("agent_http_{s}"),
                format!("the agent answered HTTP {s}: {}", ex.body_excerpt(200)),
            ))
        }
    }
    let t = sse::read_sse(&ex.body);
    let expected = format!("You said: {message}");
    if t.text != expected {
        return Err(Finding::new(
            "agent_wrong_text",
            format!("the agent's stream read {:?}, expected {expected:?}", t.text),
        ));
    }
    Ok(format!("the agent streamed the answer to the SP bearer (HTTP 200, {} frames)", t.frames))
}
