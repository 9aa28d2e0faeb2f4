//! Rendering a check: a table for people, JSON and JUnit for CI.

mod junit;
mod table;

pub use junit::write_junit;
pub use table::render_table;

use crate::check::CheckReport;
use crate::probes::Verdict;
use serde_json::json;

pub fn counts(report: &CheckReport) -> (usize, usize) {
    let passed = report.outcomes.iter().filter(|o| o.verdict == Verdict::Pass).count();
    (passed, report.outcomes.len() - passed)
}

pub fn render_json(report: &CheckReport, reproduce: &str) -> String {
    let (passed, failed) = counts(report);
    let v = json!({
        "tool": "hopcheck",
        "version": env!("CARGO_PKG_VERSION"),
        "proxy": report.proxy,
        "proxy_url": report.proxy_url,
        "verdict": if failed == 0 { "PASS" } else { "FAIL" },
        "passed": passed,
        "failed": failed,
        "probes": report.outcomes,
        "proxy_output": report.proxy_output,
        "reproduce": reproduce,
    });
    serde_json::to_string_pretty(&v).expect("a JSON value always serialises")
}
