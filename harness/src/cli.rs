//! Command-line interface.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "hopcheck",
    version,
    about = "Conformance checks for AppKit -> Agent App proxies (POST /api/chat -> POST /invocations)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the four identity probes (agent_direct, appkit_sp_only, appkit_with_obo,
    /// feedback_source_id) against a proxy. Exit 0: all pass; 1: a probe failed; 2: usage or
    /// set-up error.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Check a proxy that is already running (point it at --agent-listen / --workspace-listen).
    #[arg(long, conflicts_with = "proxy_cmd")]
    pub proxy_url: Option<String>,
    /// Start the proxy with this shell command, with AGENT_APP_URL, DATABRICKS_HOST,
    /// DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET, DATABRICKS_APP_PORT and PORT set.
    /// Without --proxy-url or --proxy-cmd the built-in reference proxy is checked.
    #[arg(long)]
    pub proxy_cmd: Option<String>,
    /// Address of the embedded mock Agent App.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub agent_listen: SocketAddr,
    /// Address of the embedded workspace emulator (OAuth, SCIM, Apps, SQL warehouse).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub workspace_listen: SocketAddr,
    /// The signed-in user probe 3 sends and probe 4 expects as feedback source_id.
    #[arg(long, env = "EXPECTED_USER_EMAIL", default_value = "alice@example.com")]
    pub expected_email: String,
    /// `<catalog>.<schema>.<prefix>` of the UC trace tables.
    #[arg(long, env = "MLFLOW_TRACING_TABLE", default_value = "main.agents.hopcheck")]
    pub tracing_table: String,
    /// Form of the trace ids the embedded agent returns.
    #[arg(long, value_enum, default_value_t = TraceIdFormArg::Uc)]
    pub trace_id_form: TraceIdFormArg,
    /// OAuth client id of the AppKit app's service principal (what the proxy is given).
    #[arg(long, env = "HOPCHECK_SP_CLIENT_ID", default_value = mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_ID)]
    pub sp_client_id: String,
    /// Its client secret (never printed). Default: a fixed local-only value.
    #[arg(long, env = "HOPCHECK_SP_CLIENT_SECRET", hide_default_value = true, default_value = mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET)]
    pub sp_client_secret: String,
    /// Seconds to wait for the proxy to listen.
    #[arg(long, default_value_t = 30)]
    pub proxy_start_timeout: u64,
    /// Seconds one request may take, response body included.
    #[arg(long, default_value_t = 30)]
    pub request_timeout: u64,
    /// Seconds probe 4 waits for the assessment row.
    #[arg(long, default_value_t = 5)]
    pub feedback_wait: u64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Show the evidence of passing probes too.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TraceIdFormArg {
    /// trace:/<catalog>.<schema>.<prefix>/<32 hex>
    Uc,
    /// tr-<32 hex>
    Tr,
}
