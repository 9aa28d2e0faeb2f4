//! hopcheck: conformance checks for the AppKit → Agent App proxy contract.

pub mod check;
pub mod cli;
pub mod http;
pub mod probes;
pub mod proxy_process;
pub mod redact;
pub mod report;
pub mod sse;
pub mod workspace_client;
