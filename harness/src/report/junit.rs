//! JUnit XML: one test case per probe, the reason as the failure message.

use crate::check::CheckReport;
use crate::probes::Verdict;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub fn write_junit(report: &CheckReport, reproduce: &str, path: &std::path::Path) -> Result<(), String> {
    let mut suite = TestSuite::new("hopcheck.check");
    for o in &report.outcomes {
        let status = match o.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{}: {}", o.reason, o.detail));
                s.set_type(o.reason.clone());
                s.set_description(format!(
                    "proxy: {} ({})\n{}\nreproduce: {reproduce}",
                    report.proxy,
                    report.proxy_url,
                    o.evidence.join("\n")
                ));
                s
            }
        };
        let mut case = TestCase::new(o.probe.name(), status);
        // Stable identity across runs (the proxy's port changes every time).
        case.set_classname("hopcheck.check");
        case.set_time(Duration::from_millis(o.duration_ms as u64));
        suite.add_test_case(case);
    }
    let mut r = Report::new("hopcheck");
    r.add_test_suite(suite);
    let xml = r.to_string().map_err(|e| format!("cannot render JUnit XML: {e}"))?;
    std::fs::write(path, xml).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
