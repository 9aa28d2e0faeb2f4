//! Every defect of the reference proxy is caught by the probe that exists for it, with the
//! exact reason; only the compliant proxy passes all four. Real servers on 127.0.0.1:0.

use hopcheck::check::{self, CheckOptions, CheckReport, ProxyTarget};
use hopcheck::probes::{ProbeId, Verdict};
use hopcheck::redact::Redactor;
use mock_agent::appkit::Defect;

async fn run(defect: Option<Defect>) -> CheckReport {
    let opts = CheckOptions::local(ProxyTarget::Reference(defect));
    check::run(&opts, &Redactor::new()).await.expect("the check runs")
}

/// (probe, verdict, reason) for every probe, in order.
fn verdicts(report: &CheckReport) -> Vec<(ProbeId, Verdict, String)> {
    report.outcomes.iter().map(|o| (o.probe, o.verdict, o.reason.clone())).collect()
}

fn pass(p: ProbeId) -> (ProbeId, Verdict, String) {
    (p, Verdict::Pass, "ok".into())
}

fn fail(p: ProbeId, reason: &str) -> (ProbeId, Verdict, String) {
    (p, Verdict::Fail, reason.into())
}

use ProbeId::*;

#[tokio::test]
async fn compliant_reference_proxy_passes_all_four() {
    let report = run(None).await;
    assert_eq!(
        verdicts(&report),
        vec![pass(AgentDirect), pass(AppkitSpOnly), pass(AppkitWithObo), pass(FeedbackSourceId)],
        "{:#?}",
        report.outcomes
    );
}

#[tokio::test]
async fn no_user_email_is_attributed_to_the_service_principal() {
    let report = run(Some(Defect::NoUserEmail)).await;
    assert_eq!(
        verdicts(&report),
        vec![
            pass(AgentDirect),
            pass(AppkitSpOnly),
            fail(AppkitWithObo, "user_email_not_forwarded"),
            fail(FeedbackSourceId, "source_id_is_service_principal"),
        ]
    );
    let p4 = &report.outcomes[3];
    assert!(p4.detail.contains(mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_ID), "{}", p4.detail);
    assert!(p4.detail.contains("service principal"), "{}", p4.detail);
}

#[tokio::test]
async fn strip_authorization_fails_the_proxy_probes() {
    let report = run(Some(Defect::StripAuthorization)).await;
    assert_eq!(
        verdicts(&report),
        vec![
            pass(AgentDirect),
            fail(AppkitSpOnly, "upstream_missing_authorization"),
            fail(AppkitWithObo, "upstream_missing_authorization"),
            fail(FeedbackSourceId, "trace_assessment_api_contract_missing: no_trace_id"),
        ]
    );
}

#[tokio::test]
async fn drop_obo_token_fails_the_obo_probe() {
    let report = run(Some(Defect::DropOboToken)).await;
    assert_eq!(
        verdicts(&report),
        vec![
            pass(AgentDirect),
            pass(AppkitSpOnly),
            fail(AppkitWithObo, "obo_token_not_forwarded"),
            pass(FeedbackSourceId)
        ]
    );
}

#[tokio::test]
async fn messages_only_drops_input_callers() {
    let report = run(Some(Defect::MessagesOnly)).await;
    assert_eq!(
        verdicts(&report),
        vec![
            pass(AgentDirect),
            fail(AppkitSpOnly, "upstream_body_shape_changed"),
            pass(AppkitWithObo),
            pass(FeedbackSourceId)
        ]
    );
    assert!(report.outcomes[1].detail.contains("dropped {input} callers"), "{}", report.outcomes[1].detail);
}

#[tokio::test]
async fn double_invocations_is_named_as_a_near_miss_path() {
    let report = run(Some(Defect::DoubleInvocations)).await;
    assert_eq!(
        verdicts(&report),
        vec![
            pass(AgentDirect),
            fail(AppkitSpOnly, "upstream_wrong_path"),
            fail(AppkitWithObo, "upstream_wrong_path"),
            fail(FeedbackSourceId, "trace_assessment_api_contract_missing: no_trace_id"),
        ]
    );
    assert!(report.outcomes[1].detail.contains("/invocations/invocations"), "{}", report.outcomes[1].detail);
}

#[tokio::test]
async fn cached_user_token_leaks_across_users() {
    let report = run(Some(Defect::CachedUserToken)).await;
    assert_eq!(
        verdicts(&report),
        vec![
            pass(AgentDirect),
            pass(AppkitSpOnly),
            fail(AppkitWithObo, "obo_token_leaked_across_users"),
            pass(FeedbackSourceId)
        ]
    );
    let p3 = &report.outcomes[2];
    assert!(p3.detail.contains("bob@example.com") && p3.detail.contains("alice@example.com"), "{}", p3.detail);
}

#[tokio::test]
async fn experiment_trace_ids_are_converted_too() {
    let mut opts = CheckOptions::local(ProxyTarget::Reference(None));
    opts.trace_id_form = mock_agent::TraceIdForm::Experiment;
    let report = check::run(&opts, &Redactor::new()).await.unwrap();
    assert!(report.outcomes.iter().all(|o| o.verdict == Verdict::Pass), "{:#?}", report.outcomes);
    assert!(report.outcomes[3].detail.contains("tr-"), "{}", report.outcomes[3].detail);
}

#[tokio::test]
async fn no_secret_reaches_the_report() {
    let redactor = Redactor::new();
    let opts = CheckOptions::local(ProxyTarget::Reference(Some(Defect::CachedUserToken)));
    let report = check::run(&opts, &redactor).await.unwrap();
    let text = hopcheck::report::render_table(&report, "hopcheck check", true)
        + &hopcheck::report::render_json(&report, "hopcheck check");
    assert!(!text.contains(mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET));
    assert!(!text.contains("hopcheck-obo-user"), "a user token leaked into the report");
    assert!(!text.contains("mock-oauth-"), "an issued OAuth token leaked into the report");
}
