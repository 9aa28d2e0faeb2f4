//! A mock Databricks Agent App and workspace for testing AppKit → Agent App proxies.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use mock_agent::{MockConfig, MockServers, Listen};
//! let mocks = MockServers::start(MockConfig::default(), Listen::default()).await?;
//! println!("agent at {}, workspace at {}", mocks.agent_url(), mocks.workspace_url());
//! # Ok(()) }
//! ```

pub mod agent;
pub mod appkit;
pub mod assessments;
pub mod config;
pub mod fingerprint;
mod http_util;
pub mod identity;
pub mod journal;
pub mod pyjson;
mod server;
pub mod state;
pub mod trace_id;
pub mod verify;
pub mod warehouse;
pub mod workspace;

pub use config::{MockConfig, ServicePrincipal, TraceIdForm};
pub use journal::{Journal, JournalEntry, JournalFilter};
pub use server::{Listen, MockServers};
pub use verify::{Expectation, VerifyError};
