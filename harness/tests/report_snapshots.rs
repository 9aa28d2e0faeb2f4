//! What a user reads: the table and JSON reports for a failing proxy, pinned as snapshots.

use hopcheck::check::{self, CheckOptions, ProxyTarget};
use hopcheck::redact::Redactor;
use mock_agent::appkit::Defect;

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"fp:[0-9a-f]{12}", "fp:[fingerprint]"),
        (r"[0-9a-f]{32}", "[32hex]"),
        (r"hopcheck (\w+) (\S+) [0-9a-f]{12}", "hopcheck $1 $2 [run]"),
        (r"\(\d+ ms\)", "([n] ms)"),
        (r#""duration_ms": \d+"#, r#""duration_ms": [n]"#),
        (r"\d\.\ds", "[n]s"),
    ]
}

async fn report(defect: Option<Defect>) -> check::CheckReport {
    check::run(&CheckOptions::local(ProxyTarget::Reference(defect)), &Redactor::new()).await.unwrap()
}

#[tokio::test]
async fn table_for_a_proxy_that_drops_the_user_email() {
    let r = report(Some(Defect::NoUserEmail)).await;
    let text = hopcheck::report::render_table(&r, "hopcheck check --proxy-cmd '…'", false);
    insta::with_settings!({snapshot_path => "../../snapshots", filters => filters()}, {
        insta::assert_snapshot!("table_no_user_email", text);
    });
}

#[tokio::test]
async fn json_for_a_proxy_that_joins_the_path_twice() {
    let r = report(Some(Defect::DoubleInvocations)).await;
    let text = hopcheck::report::render_json(&r, "hopcheck check --proxy-cmd '…'");
    insta::with_settings!({snapshot_path => "../../snapshots", filters => filters()}, {
        insta::assert_snapshot!("json_double_invocations", text);
    });
}
