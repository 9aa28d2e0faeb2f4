//! Probe 2: `POST /api/chat` with no user token (Responses-style `{input}`) reaches the agent
//! with the SP bearer and streams the answer back.

use super::chat::{round_trip, ChatCall};
use super::{ProbeContext, ProbeResult};

pub async fn run(ctx: &ProbeContext, evidence: &mut Vec<String>) -> ProbeResult {
    let call = ChatCall {
        body_key: "input",
        message: ctx.message("appkit_sp_only", "anonymous"),
        user: None,
        other_user: None,
    };
    let t = round_trip(ctx, &call, evidence).await.result?;
    Ok(format!(
        "{{input}} without a user token reached POST /invocations with the SP bearer; the browser read {:?} over SSE",
        t.text
    ))
}
