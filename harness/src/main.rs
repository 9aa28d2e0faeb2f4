use clap::Parser;
use hopcheck::check::{self, CheckOptions, ProxyTarget};
use hopcheck::cli::{CheckArgs, Cli, Command, Format, TraceIdFormArg};
use hopcheck::redact::Redactor;
use hopcheck::report;
use mock_agent::trace_id::TracingTable;
use mock_agent::TraceIdForm;
use std::process::ExitCode;
use std::time::Duration;

const EXIT_FAILED: u8 = 1;
const EXIT_SETUP: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EXIT_SETUP) } else { ExitCode::SUCCESS };
        }
    };
    let Command::Check(args) = cli.command;
    let redactor = Redactor::new();
    tokio::select! {
        code = check_command(args, &redactor) => code,
        _ = interrupted() => {
            // Dropping the run future stops the mocks and kills the proxy's process group.
            eprintln!("hopcheck: interrupted; stopped everything it started");
            ExitCode::from(130)
        }
    }
}

async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn options(args: &CheckArgs) -> Result<CheckOptions, String> {
    let target = match (&args.proxy_url, &args.proxy_cmd) {
        (Some(url), None) => ProxyTarget::Url(url.clone()),
        (None, Some(cmd)) if cmd.trim().is_empty() => return Err("--proxy-cmd is empty".into()),
        (None, Some(cmd)) => ProxyTarget::Command(cmd.clone()),
        (None, None) => ProxyTarget::Reference(None),
        (Some(_), Some(_)) => return Err("--proxy-url and --proxy-cmd exclude each other".into()),
    };
    if !args.expected_email.contains('@') {
        return Err(format!("--expected-email {:?} is not an email address", args.expected_email));
    }
    let second_email = if args.expected_email == "bob@example.com" { "carol@example.com" } else { "bob@example.com" };
    Ok(CheckOptions {
        target,
        agent_listen: args.agent_listen,
        workspace_listen: args.workspace_listen,
        expected_email: args.expected_email.clone(),
        second_email: second_email.into(),
        tracing_table: TracingTable::parse(&args.tracing_table)?,
        trace_id_form: match args.trace_id_form {
            TraceIdFormArg::Uc => TraceIdForm::UcTablePrefix,
            TraceIdFormArg::Tr => TraceIdForm::Experiment,
        },
        sp_client_id: args.sp_client_id.clone(),
        sp_client_secret: args.sp_client_secret.clone(),
        proxy_start_timeout: Duration::from_secs(args.proxy_start_timeout.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        feedback_wait: Duration::from_secs(args.feedback_wait),
    })
}

/// The command line to run again, shell-quoted, with the secret left out.
fn reproduce_command() -> String {
    let mut skip_next = false;
    let mut parts = Vec::new();
    for arg in std::env::args() {
        if skip_next {
            skip_next = false;
            parts.push("'<secret>'".to_string());
            continue;
        }
        if arg == "--sp-client-secret" {
            skip_next = true;
        }
        if arg.starts_with("--sp-client-secret=") {
            parts.push("--sp-client-secret='<secret>'".into());
            continue;
        }
        parts.push(shell_quote(&arg));
    }
    parts.join(" ")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

async fn check_command(args: CheckArgs, redactor: &Redactor) -> ExitCode {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hopcheck: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    if let Some(path) = &args.junit {
        // Fail before probing, not after, when the report cannot be written.
        if let Err(e) = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path) {
            eprintln!("hopcheck: cannot write the JUnit report {}: {e}", path.display());
            return ExitCode::from(EXIT_SETUP);
        }
    }
    let reproduce = redactor.redact(&reproduce_command());
    let report = match check::run(&opts, redactor).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hopcheck: could not run the probes: {}", redactor.redact(&e.message));
            if !e.last_output.is_empty() {
                eprintln!("hopcheck: last output of the proxy command:");
                for line in &e.last_output {
                    eprintln!("  | {line}");
                }
            }
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let rendered = match args.format {
        Format::Table => report::render_table(&report, &reproduce, args.verbose),
        Format::Json => report::render_json(&report, &reproduce),
    };
    println!("{}", redactor.redact(&rendered));
    if let Some(path) = &args.junit {
        if let Err(e) = report::write_junit(&report, &reproduce, path) {
            eprintln!("hopcheck: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    }
    let (_, failed) = report::counts(&report);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
