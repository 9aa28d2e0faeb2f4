//! The human report: one row per probe, the exact reason on every failure, evidence under it.

use super::counts;
use crate::check::CheckReport;
use crate::probes::Verdict;
use std::fmt::Write;

pub fn render_table(report: &CheckReport, reproduce: &str, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "hopcheck check: {} ({})", report.proxy, report.proxy_url);
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<20} {:<7} REASON", "PROBE", "VERDICT");
    for o in &report.outcomes {
        let _ = writeln!(out, "{:<20} {:<7} {}", o.probe.name(), verdict(o.verdict), o.reason);
        let _ = writeln!(out, "{:<28} {}", "", o.detail);
        if o.verdict == Verdict::Fail || verbose {
            for e in &o.evidence {
                let _ = writeln!(out, "{:<28} · {}", "", e);
            }
        }
    }
    if !report.proxy_output.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "last output of the proxy command:");
        for line in &report.proxy_output {
            let _ = writeln!(out, "  | {line}");
        }
    }
    let (passed, failed) = counts(report);
    let _ = writeln!(out);
    let status = if failed == 0 { "PASS" } else { "FAIL" };
    let _ = writeln!(out, "{status}: {passed} of {} probes passed", report.outcomes.len());
    if failed > 0 {
        let _ = writeln!(out, "reproduce: {reproduce}");
    }
    out
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    }
}
