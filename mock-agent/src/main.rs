//! `mock-agent serve` (mock Agent App + workspace) and `mock-agent appkit` (reference proxy).

use clap::{Parser, Subcommand, ValueEnum};
use mock_agent::agent::Scenario;
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
    Serve(Box<ServeArgs>),
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
    /// The whole start-up scenario as JSON (see README "Scenarios"); the flags below override it.
    #[arg(long)]
    scenario: Option<String>,
    /// Wire format: mlflow (as the MLflow agent server), responses-full (OpenAI Responses
    /// events), chat (chat.completion.chunk).
    #[arg(long)]
    format: Option<String>,
    /// untyped (accepts any JSON object) or responses (validates like a ResponsesAgent server).
    #[arg(long)]
    agent_type: Option<String>,
    /// echo (app/agent_responses.py) or untyped-echo (app/agent_untyped.py).
    #[arg(long)]
    agent: Option<String>,
    /// Reproduce an AI Gateway guardrail: `output` (streaming requests get HTTP 400
    /// {"error_code":"BAD_REQUEST","message":"Response blocked by output guardrail '<name>'."}
    /// before any SSE byte; stream:false succeeds), `output-midstream` (an error frame after the
    /// first deltas), `input` (requests containing --guardrail-keyword get
    /// "Request blocked by input guardrail '<name>'."). The exact public error body is INFERRED
    /// from Databricks' standard error shape and reported messages, not recorded.
    #[arg(long, verbatim_doc_comment)]
    guardrail: Option<String>,
    #[arg(long, default_value = "hopcheck_guardrail")]
    guardrail_name: String,
    /// Keyword for `--guardrail input` (repeatable).
    #[arg(long)]
    guardrail_keyword: Vec<String>,
    /// Chunk plan: per-event, coalesced, fixed:N, random:SEED:MAX, split-utf8, split-crlf.
    #[arg(long)]
    chunking: Option<String>,
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
    /// Break exactly one rule of the contract: no-user-email, strip-authorization,
    /// drop-obo-token, messages-only, double-invocations, cached-user-token.
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
        Command::Serve(args) => serve(*args).await,
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
        scenario: scenario_from_args(&args)?,
        ..MockConfig::default()
    };
    let listen = Listen { agent: args.agent_listen, workspace: args.workspace_listen };
    let mocks = MockServers::start(config, listen).await?;
    println!("{}", serde_json::json!({"agent": mocks.agent_url(), "workspace": mocks.workspace_url()}));
    shutdown_signal().await;
    mocks.shutdown().await;
    Ok(())
}

/// `--scenario` JSON with the convenience flags merged over it.
fn scenario_from_args(args: &ServeArgs) -> anyhow::Result<Scenario> {
    let base = match &args.scenario {
        Some(json) => Scenario::parse(json).map_err(|e| anyhow::anyhow!("--scenario: {e}"))?,
        None => Scenario::default(),
    };
    if args.guardrail.is_none() && (!args.guardrail_keyword.is_empty() || args.guardrail_name != "hopcheck_guardrail") {
        anyhow::bail!("--guardrail-name and --guardrail-keyword need --guardrail output|output-midstream|input");
    }
    let mut patch = serde_json::Map::new();
    for (key, value) in [("format", &args.format), ("agent_type", &args.agent_type), ("agent", &args.agent)] {
        if let Some(v) = value {
            patch.insert(key.into(), serde_json::json!(v));
        }
    }
    if let Some(mode) = &args.guardrail {
        patch.insert(
            "guardrail".into(),
            serde_json::json!({"mode": mode, "name": args.guardrail_name, "keywords": args.guardrail_keyword}),
        );
    }
    if let Some(c) = &args.chunking {
        patch.insert("chunking".into(), parse_chunking(c)?);
    }
    base.merged(&serde_json::Value::Object(patch).to_string()).map_err(|e| anyhow::anyhow!("{e}"))
}

fn parse_chunking(spec: &str) -> anyhow::Result<serde_json::Value> {
    let parts: Vec<&str> = spec.split(':').collect();
    let num = |s: &str| s.parse::<u64>().map_err(|_| anyhow::anyhow!("--chunking {spec:?}: {s:?} is not a number"));
    Ok(match parts.as_slice() {
        ["fixed", n] => serde_json::json!({"mode": "fixed", "size": num(n)?}),
        ["random", seed, max] => serde_json::json!({"mode": "random", "seed": num(seed)?, "max": num(max)?}),
        [mode] => serde_json::json!({"mode": mode}),
        _ => anyhow::bail!(
            "--chunking {spec:?}: expected per-event, coalesced, fixed:N, random:SEED:MAX, split-utf8 or split-crlf"
        ),
    })
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
