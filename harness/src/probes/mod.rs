//! The four identity probes of the proxy contract, run in order against one proxy.

mod agent_direct;
mod appkit_sp_only;
mod appkit_with_obo;
mod chat;
mod context;
mod evidence;
mod feedback_source_id;

pub use context::{ProbeContext, TestUser};

use serde::Serialize;
use std::fmt;
use std::time::{Duration, Instant};

/// The probes, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeId {
    AgentDirect,
    AppkitSpOnly,
    AppkitWithObo,
    FeedbackSourceId,
}

impl ProbeId {
    pub const ALL: [ProbeId; 4] =
        [ProbeId::AgentDirect, ProbeId::AppkitSpOnly, ProbeId::AppkitWithObo, ProbeId::FeedbackSourceId];

    pub fn name(self) -> &'static str {
        match self {
            ProbeId::AgentDirect => "agent_direct",
            ProbeId::AppkitSpOnly => "appkit_sp_only",
            ProbeId::AppkitWithObo => "appkit_with_obo",
            ProbeId::FeedbackSourceId => "feedback_source_id",
        }
    }

    /// What a pass proves, in one line (shown in `--help`-like listings and JUnit).
    pub fn proves(self) -> &'static str {
        match self {
            ProbeId::AgentDirect => "the agent answers POST /invocations with the AppKit service principal's bearer",
            ProbeId::AppkitSpOnly => {
                "POST /api/chat without a user token reaches the agent with the SP bearer and streams back"
            }
            ProbeId::AppkitWithObo => "per user: the OBO token is forwarded verbatim and x-app-user-email is stamped",
            ProbeId::FeedbackSourceId => {
                "the user_feedback assessment of the probe-3 trace has source_id = the user's email"
            }
        }
    }
}

impl fmt::Display for ProbeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Fail,
}

/// One probe's result: a verdict, a stable reason code and a sentence a person can act on.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeOutcome {
    pub probe: ProbeId,
    pub verdict: Verdict,
    /// Stable, machine-readable reason (`ok` on a pass).
    pub reason: String,
    pub detail: String,
    /// Facts the verdict rests on (requests seen by the agent, statuses, ids).
    pub evidence: Vec<String>,
    pub duration_ms: u128,
}

/// A failure found by a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub reason: String,
    pub detail: String,
}

impl Finding {
    pub fn new(reason: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { reason: reason.into(), detail: detail.into() }
    }
}

/// What a probe body returns: the pass sentence, or the failure.
pub type ProbeResult = Result<String, Finding>;

/// Runs all four probes in order (probe 4 reads the trace of probe 3).
pub async fn run_all(ctx: &ProbeContext) -> Vec<ProbeOutcome> {
    let mut outcomes = Vec::with_capacity(4);
    let mut evidence = Vec::new();
    let started = Instant::now();
    let r = agent_direct::run(ctx, &mut evidence).await;
    outcomes.push(finish(ProbeId::AgentDirect, r, std::mem::take(&mut evidence), started.elapsed(), ctx));

    let started = Instant::now();
    let r = appkit_sp_only::run(ctx, &mut evidence).await;
    outcomes.push(finish(ProbeId::AppkitSpOnly, r, std::mem::take(&mut evidence), started.elapsed(), ctx));

    let started = Instant::now();
    let (r, trace_id) = appkit_with_obo::run(ctx, &mut evidence).await;
    outcomes.push(finish(ProbeId::AppkitWithObo, r, std::mem::take(&mut evidence), started.elapsed(), ctx));

    let started = Instant::now();
    let p3 = outcomes.last().expect("probe 3 ran").clone();
    let r = feedback_source_id::run(ctx, trace_id.as_deref(), &p3, &mut evidence).await;
    outcomes.push(finish(ProbeId::FeedbackSourceId, r, evidence, started.elapsed(), ctx));
    outcomes
}

fn finish(
    probe: ProbeId,
    result: ProbeResult,
    evidence: Vec<String>,
    took: Duration,
    ctx: &ProbeContext,
) -> ProbeOutcome {
    let r = &ctx.redactor;
    let evidence = evidence.iter().map(|e| r.redact(e)).collect();
    let (verdict, reason, detail) = match result {
        Ok(detail) => (Verdict::Pass, "ok".to_string(), detail),
        Err(f) => (Verdict::Fail, f.reason, f.detail),
    };
    ProbeOutcome {
        probe,
        verdict,
        reason: r.redact(&reason),
        detail: r.redact(&detail),
        evidence,
        duration_ms: took.as_millis(),
    }
}
