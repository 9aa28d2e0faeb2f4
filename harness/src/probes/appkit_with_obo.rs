//! Probe 3: `POST /api/chat` as two different users (chat-style `{messages}`, OBO token and
//! email): each upstream call carries that user's token verbatim and `x-app-user-email`.
//! The first user's trace id is handed to probe 4.

use super::chat::{round_trip, ChatCall};
use super::{ProbeContext, ProbeResult};

pub async fn run(ctx: &ProbeContext, evidence: &mut Vec<String>) -> (ProbeResult, Option<String>) {
    let [first, second] = &ctx.users;
    let mut trace_id = None;
    for (user, other) in [(first, second), (second, first)] {
        let call = ChatCall {
            body_key: "messages",
            message: ctx.message("appkit_with_obo", &user.email),
            user: Some(user),
            other_user: Some(other),
        };
        let rt = round_trip(ctx, &call, evidence).await;
        if std::ptr::eq(user, first) {
            trace_id = rt.trace_id.clone();
        }
        evidence.push(format!("{}: trace id {}", user.email, rt.trace_id.as_deref().unwrap_or("(none returned)")));
        if let Err(f) = rt.result {
            return (Err(f), trace_id);
        }
    }
    let ok = format!(
        "{} and {} each reached the agent with their own OBO token (verbatim), x-app-user-email and the SP bearer",
        first.email, second.email
    );
    (Ok(ok), trace_id)
}
