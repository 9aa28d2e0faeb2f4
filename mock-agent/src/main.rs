//! `mock-agent serve` (mock Agent App + workspace) and `mock-agent appkit` (reference proxy).

use clap::{Parser, Subcommand, ValueEnum};
use mock_agent::appkit::{Defect, ProxyConfig, ReferenceProxy};
use mock_agent::trace_id::TracingTable;
use mock_agent::{Listen, MockConfig, MockServers, TraceIdForm};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mock-agent",
    version,
    about = "Mock Databricks Agent App and workspace, and a reference AppKit proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the mock Agent App and workspace emulator; prints their URLs as one JSON line.
    Serve(ServeArgs),
    /// Run the reference AppKit proxy (POST /api/chat) from the AppKit environment variables
    /// AGENT_APP_URL, DATABRICKS_HOST, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET,
    /// DATABRICKS_APP_PORT (or PORT).
    Appkit(AppkitArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    agent_listen: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:0")]
    workspace_listen: SocketAddr,
    /// `<catalog>.<schema>.<prefix>` of the trace tables.
    #[arg(long, default_value = "main.agents.hopcheck")]
    tracing_table: String,
    #[arg(long, value_enum, default_value_t = TraceIdFormArg::Uc)]
    trace_id_form: TraceIdFormArg,
    /// `off` accepts requests without a bearer, like the bare MLflow agent server.
    #[arg(long, value_enum, default_value_t = AuthArg::On)]
    auth: AuthArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum TraceIdFormArg {
    /// trace:/<catalog>.<schema>.<prefix>/<32 hex>
    Uc,
    /// tr-<32 hex>
    Tr,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthArg {
    On,
    Off,
}

#[derive(clap::Args)]
struct AppkitArgs {
    /// Break exactly one rule of the contract.
    #[arg(long, value_parser = parse_defect)]
    defect: Option<Defect>,
}

fn parse_defect(s: &str) -> Result<Defect, String> {
    s.parse()
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MOCK_AGENT_LOG"))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Appkit(args) => appkit(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-agent: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = MockConfig {
        tracing_table: TracingTable::parse(&args.tracing_table).map_err(anyhow::Error::msg)?,
        trace_id_form: match args.trace_id_form {
            TraceIdFormArg::Uc => TraceIdForm::UcTablePrefix,
            TraceIdFormArg::Tr => TraceIdForm::Experiment,
        },
        agent_auth: matches!(args.auth, AuthArg::On),
        ..MockConfig::default()
    };
    let listen = Listen { agent: args.agent_listen, workspace: args.workspace_listen };
    let mocks = MockServers::start(config, listen).await?;
    println!("{}", serde_json::json!({"agent": mocks.agent_url(), "workspace": mocks.workspace_url()}));
    shutdown_signal().await;
    mocks.shutdown().await;
    Ok(())
}

async fn appkit(args: AppkitArgs) -> anyhow::Result<()> {
    let config = ProxyConfig::from_env(args.defect).map_err(anyhow::Error::msg)?;
    let defect = config.defect;
    let proxy = ReferenceProxy::start(config).await?;
    match defect {
        Some(d) => println!("reference AppKit proxy listening on {} (defect: {d})", proxy.url()),
        None => println!("reference AppKit proxy listening on {}", proxy.url()),
    }
    tokio::select! {
        _ = proxy.wait() => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
