//! `hopcheck check`: bring up the embedded agent and workspace, bring up (or find) the proxy
//! under test, run the four probes, tear everything down.

use crate::probes::{self, ProbeContext, ProbeOutcome, TestUser};
use crate::proxy_process::{self, ProxyProcess};
use crate::redact::Redactor;
use crate::workspace_client::Credentials;
use mock_agent::appkit::{Defect, ProxyConfig, ReferenceProxy};
use mock_agent::trace_id::TracingTable;
use mock_agent::{Listen, MockConfig, MockServers, TraceIdForm};
use rand::Rng;
use std::net::SocketAddr;
use std::time::Duration;

/// Which proxy is under test.
#[derive(Clone, Debug)]
pub enum ProxyTarget {
    /// The built-in reference proxy, in process, optionally with one rule broken.
    Reference(Option<Defect>),
    /// Already running at this URL (pointed at the embedded agent and workspace).
    Url(String),
    /// Started from this shell command with the AppKit environment.
    Command(String),
}

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub target: ProxyTarget,
    pub agent_listen: SocketAddr,
    pub workspace_listen: SocketAddr,
    pub expected_email: String,
    pub second_email: String,
    pub tracing_table: TracingTable,
    pub trace_id_form: TraceIdForm,
    pub sp_client_id: String,
    pub sp_client_secret: String,
    pub proxy_start_timeout: Duration,
    pub request_timeout: Duration,
    pub feedback_wait: Duration,
}

impl CheckOptions {
    /// Everything on loopback with the defaults `hopcheck check` uses.
    pub fn local(target: ProxyTarget) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            target,
            agent_listen: any,
            workspace_listen: any,
            expected_email: "alice@example.com".into(),
            second_email: "bob@example.com".into(),
            tracing_table: TracingTable::parse("main.agents.hopcheck").expect("valid default"),
            trace_id_form: TraceIdForm::UcTablePrefix,
            sp_client_id: mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_ID.into(),
            sp_client_secret: mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET.into(),
            proxy_start_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            feedback_wait: Duration::from_secs(5),
        }
    }
}

/// The outcome of a run that got as far as probing.
pub struct CheckReport {
    pub proxy: String,
    pub proxy_url: String,
    pub outcomes: Vec<ProbeOutcome>,
    /// The proxy command's last output lines (redacted), kept when a probe failed.
    pub proxy_output: Vec<String>,
}

/// A run that could not probe at all (exit code 2).
#[derive(Debug)]
pub struct SetupError {
    pub message: String,
    pub last_output: Vec<String>,
}

impl SetupError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), last_output: vec![] }
    }
}

fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| format!("{:x}", rng.random_range(0..16u8))).collect()
}

pub async fn run(opts: &CheckOptions, redactor: &Redactor) -> Result<CheckReport, SetupError> {
    redactor.add(&opts.sp_client_secret);
    // The secret travels base64-encoded in a Basic header too.
    use base64::Engine;
    let basic = format!("{}:{}", opts.sp_client_id, opts.sp_client_secret);
    redactor.add(&base64::engine::general_purpose::STANDARD.encode(basic));
    if let ProxyTarget::Url(url) = &opts.target {
        validate_proxy_url(url)?;
    }
    let mut config = MockConfig {
        tracing_table: opts.tracing_table.clone(),
        trace_id_form: opts.trace_id_form,
        ..MockConfig::default()
    };
    config.principals[0].application_id = opts.sp_client_id.clone();
    config.principals[0].client_secret = opts.sp_client_secret.clone();
    let listen = Listen { agent: opts.agent_listen, workspace: opts.workspace_listen };
    let mocks = MockServers::start(config.clone(), listen).await.map_err(|e| SetupError::new(format!("{e:#}")))?;

    // The AppKit app's environment, as Databricks Apps would set it. AGENT_APP_URL keeps a
    // trailing slash on purpose: the contract says to normalise it.
    let port = proxy_process::free_port().map_err(|e| SetupError::new(format!("no free loopback port: {e}")))?;
    let env = vec![
        ("AGENT_APP_URL".to_string(), format!("{}/", mocks.agent_url())),
        ("DATABRICKS_HOST".to_string(), mocks.workspace_url()),
        ("DATABRICKS_CLIENT_ID".to_string(), opts.sp_client_id.clone()),
        ("DATABRICKS_CLIENT_SECRET".to_string(), opts.sp_client_secret.clone()),
        ("DATABRICKS_APP_PORT".to_string(), port.to_string()),
        ("PORT".to_string(), port.to_string()),
        ("DATABRICKS_APP_NAME".to_string(), config.appkit_app_name.clone()),
        ("FLASK_RUN_HOST".to_string(), "127.0.0.1".to_string()),
    ];

    let mut process = None;
    let mut reference = None;
    let (proxy_desc, proxy_url) = match &opts.target {
        ProxyTarget::Reference(defect) => {
            let proxy_config = ProxyConfig {
                agent_app_url: format!("{}/", mocks.agent_url()),
                databricks_host: mocks.workspace_url(),
                client_id: opts.sp_client_id.clone(),
                client_secret: opts.sp_client_secret.clone(),
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                defect: *defect,
            };
            let p = ReferenceProxy::start(proxy_config)
                .await
                .map_err(|e| SetupError::new(format!("reference proxy: {e:#}")))?;
            let url = p.url();
            reference = Some(p);
            let desc = match defect {
                Some(d) => format!("built-in reference proxy with defect {d}"),
                None => "built-in reference proxy".to_string(),
            };
            (desc, url)
        }
        ProxyTarget::Url(url) => {
            let port = reqwest::Url::parse(url).ok().and_then(|u| u.port_or_known_default()).unwrap_or(80);
            eprintln!(
                "hopcheck: mock agent at {agent}, workspace at {ws}. Start the proxy with:\n  AGENT_APP_URL={agent} DATABRICKS_HOST={ws} DATABRICKS_CLIENT_ID={id} DATABRICKS_CLIENT_SECRET=<--sp-client-secret or HOPCHECK_SP_CLIENT_SECRET; unset: the local default in the README> DATABRICKS_APP_PORT={port}\nhopcheck: waiting up to {secs}s for {url}",
                agent = mocks.agent_url(),
                ws = mocks.workspace_url(),
                id = opts.sp_client_id,
                secs = opts.proxy_start_timeout.as_secs(),
            );
            wait_for_url(url, opts.proxy_start_timeout).await?;
            (format!("proxy at {url}"), url.trim_end_matches('/').to_string())
        }
        ProxyTarget::Command(cmd) => {
            let p = ProxyProcess::start(cmd, &env, port, opts.proxy_start_timeout, redactor)
                .await
                .map_err(|e| SetupError { message: e.message, last_output: e.last_output })?;
            process = Some(p);
            (format!("proxy command `{cmd}`"), format!("http://127.0.0.1:{port}"))
        }
    };
    mocks.set_appkit_url(&proxy_url);

    let run_id = random_hex(12);
    let users = [
        TestUser {
            email: opts.expected_email.clone(),
            user_id: "1001".into(),
            token: format!("hopcheck-obo-user1-{}", random_hex(24)),
        },
        TestUser {
            email: opts.second_email.clone(),
            user_id: "1002".into(),
            token: format!("hopcheck-obo-user2-{}", random_hex(24)),
        },
    ];
    users.iter().for_each(|u| redactor.add(&u.token));
    let ctx = ProbeContext {
        http: crate::http::client(),
        proxy_url: proxy_url.clone(),
        agent_url: mocks.agent_url(),
        workspace_url: mocks.workspace_url(),
        sp: Credentials { client_id: opts.sp_client_id.clone(), client_secret: opts.sp_client_secret.clone() },
        users,
        expected_email: Some(opts.expected_email.clone()),
        warehouse_id: Some(config.warehouse_id.clone()),
        tracing_table: Some(opts.tracing_table.clone()),
        mock: mocks.state.clone(),
        redactor: redactor.clone(),
        request_timeout: opts.request_timeout,
        feedback_wait: opts.feedback_wait,
        run_id,
    };
    let outcomes = probes::run_all(&ctx).await;
    let mut proxy_output = Vec::new();
    if let Some(p) = process {
        if outcomes.iter().any(|o| o.verdict == probes::Verdict::Fail) {
            proxy_output = p.last_output();
        }
        p.stop().await;
    }
    drop(reference);
    mocks.shutdown().await;
    Ok(CheckReport { proxy: proxy_desc, proxy_url, outcomes, proxy_output })
}

fn validate_proxy_url(url: &str) -> Result<(), SetupError> {
    match reqwest::Url::parse(url) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => Ok(()),
        Ok(u) => Err(SetupError::new(format!(
            "--proxy-url {url:?} must be an http(s) URL with a host (got scheme {:?})",
            u.scheme()
        ))),
        Err(e) => Err(SetupError::new(format!("--proxy-url {url:?} is not a URL: {e}"))),
    }
}

async fn wait_for_url(url: &str, timeout: Duration) -> Result<(), SetupError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| SetupError::new(format!("--proxy-url {url:?} is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let started = std::time::Instant::now();
    loop {
        if tokio::net::TcpStream::connect((host.as_str(), port)).await.is_ok() {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(SetupError::new(format!("nothing listens at {url} (waited {}s)", timeout.as_secs())));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
