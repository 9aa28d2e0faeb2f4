//! `hopcheck` as a user runs it: exit codes, reports, proxy commands that misbehave, Ctrl-C.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The `mock-agent` binary of the same build (cargo builds every workspace binary for tests).
fn mock_agent_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_hopcheck")).with_file_name("mock-agent");
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace` (the test script does)", bin.display());
    bin
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hopcheck"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("EXPECTED_USER_EMAIL")
        .env_remove("MLFLOW_TRACING_TABLE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hopcheck starts")
}

fn finish(mut child: Child, limit: Duration) -> Run {
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("hopcheck did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Run { code, stdout, stderr, took: started.elapsed() }
}

fn hopcheck(args: &[&str], limit: Duration) -> Run {
    finish(spawn(args), limit)
}

#[test]
fn default_check_passes_four_of_four() {
    let r = hopcheck(&["check"], Duration::from_secs(30));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("PASS: 4 of 4 probes passed"), "{}", r.stdout);
    for probe in ["agent_direct", "appkit_sp_only", "appkit_with_obo", "feedback_source_id"] {
        assert!(r.stdout.contains(probe), "{probe} missing from\n{}", r.stdout);
    }
}

#[test]
fn defective_proxy_command_fails_probe_four_naming_the_service_principal() {
    let cmd = format!("{} appkit --defect no-user-email", mock_agent_bin().display());
    let r = hopcheck(&["check", "--proxy-cmd", &cmd], Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    let line = r.stdout.lines().find(|l| l.starts_with("feedback_source_id")).unwrap();
    assert!(line.contains("FAIL") && line.contains("source_id_is_service_principal"), "{line}");
    assert!(r.stdout.contains("the AppKit service principal's client id"), "{}", r.stdout);
    assert!(r.stdout.contains("reproduce: "), "{}", r.stdout);
    assert!(!r.stdout.contains(mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET));
}

#[test]
fn json_and_junit_reports_for_ci() {
    let dir = tempdir();
    let junit = dir.join("report.xml");
    let r = hopcheck(&["check", "--format", "json", "--junit", junit.to_str().unwrap()], Duration::from_secs(30));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("stdout is one JSON document");
    assert_eq!(v["verdict"], "PASS");
    assert_eq!(v["probes"].as_array().unwrap().len(), 4);
    assert_eq!(v["probes"][3]["probe"], "feedback_source_id");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 4, "{xml}");
    assert!(xml.contains("tests=\"4\"") && xml.contains("failures=\"0\""), "{xml}");
}

#[test]
fn usage_errors_exit_two() {
    let r = hopcheck(&["check", "--proxy-url", "http://127.0.0.1:1", "--proxy-cmd", "true"], Duration::from_secs(10));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let r = hopcheck(&["check", "--tracing-table", "main.agents"], Duration::from_secs(10));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("<catalog>.<schema>.<prefix>"), "{}", r.stderr);
}

#[test]
fn proxy_that_exits_early_is_a_setup_error_with_its_last_output() {
    let r = hopcheck(&["check", "--proxy-cmd", "echo 'fatal: cannot bind' >&2; exit 3"], Duration::from_secs(10));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("exited") && r.stderr.contains("before listening"), "{}", r.stderr);
    assert!(r.stderr.contains("| fatal: cannot bind"), "{}", r.stderr);
}

#[test]
fn proxy_that_never_listens_times_out_quickly() {
    let r = hopcheck(
        &["check", "--proxy-start-timeout", "1", "--proxy-cmd", "echo starting; sleep 30"],
        Duration::from_secs(15),
    );
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("did not listen") && r.stderr.contains("within 1s"), "{}", r.stderr);
    assert!(r.stderr.contains("| starting"), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(8), "took {:?}", r.took);
}

#[test]
fn proxy_that_answers_garbage_fails_the_probes_in_bounded_time() {
    // Listens on $PORT, answers every connection with bytes that are not HTTP, forever.
    let script = "import os,socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',int(os.environ['PORT'])));s.listen(16)\nwhile True:\n  c,_=s.accept();c.sendall(b'garbage\\x00\\xff not http\\r\\n\\r\\n');c.close()\n";
    let cmd = format!("exec python3 -c \"{}\"", script.replace('"', "\\\""));
    let r = hopcheck(&["check", "--request-timeout", "5", "--proxy-cmd", &cmd], Duration::from_secs(40));
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    let p2 = r.stdout.lines().find(|l| l.starts_with("appkit_sp_only")).unwrap();
    assert!(p2.contains("FAIL") && p2.contains("proxy_protocol_error"), "{}", r.stdout);
    assert!(r.stdout.contains("trace_assessment_api_contract_missing: no_trace_id"), "{}", r.stdout);
    assert!(r.stdout.contains("probe 3 (appkit_with_obo) failed with proxy_protocol_error"), "{}", r.stdout);
}

#[test]
fn proxy_that_accepts_but_never_answers_times_out() {
    let script = "import os,socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',int(os.environ['PORT'])));s.listen(16)\nheld=[]\nwhile True:\n  held.append(s.accept()[0])\n";
    let cmd = format!("exec python3 -c \"{}\"", script.replace('"', "\\\""));
    let r = hopcheck(&["check", "--request-timeout", "1", "--proxy-cmd", &cmd], Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    let p2 = r.stdout.lines().find(|l| l.starts_with("appkit_sp_only")).unwrap();
    assert!(p2.contains("proxy_timeout"), "{}", r.stdout);
    assert!(r.took < Duration::from_secs(10), "took {:?}", r.took);
}

#[test]
fn ctrl_c_stops_hopcheck_and_the_proxy_process_group() {
    let dir = tempdir();
    let pid_file = dir.join("proxy.pid");
    let cmd = format!("echo $$ > {}; sleep 300 & wait", pid_file.display());
    let child = spawn(&["check", "--proxy-start-timeout", "120", "--proxy-cmd", &cmd]);
    let started = Instant::now();
    while !pid_file.exists() || std::fs::read_to_string(&pid_file).unwrap().trim().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the proxy command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pgid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // SAFETY: sending signals to processes this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let r = finish(child, Duration::from_secs(10));
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    // An orphaned zombie lingers until init reaps it: give that a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    // SAFETY: signal 0 only checks whether the group still exists.
    while unsafe { libc::killpg(pgid, 0) } == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let alive = unsafe { libc::killpg(pgid, 0) } == 0;
    let ps = Command::new("ps")
        .args(["-o", "pid,ppid,pgid,stat,cmd", "-g", &pgid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(!alive, "the proxy's process group {pgid} survived Ctrl-C:\n{ps}");
}

#[test]
fn node_appkit_fixture_passes_all_four() {
    let fixture = repo_root().join("fixtures/proxies/appkit-node");
    assert!(
        fixture.join("node_modules/@databricks/appkit").exists(),
        "run `npm ci` in {} first (scripts/test.sh does)",
        fixture.display()
    );
    let r =
        hopcheck(&["check", "--proxy-cmd", "node fixtures/proxies/appkit-node/server.mjs"], Duration::from_secs(60));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("PASS: 4 of 4 probes passed"), "{}", r.stdout);
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hopcheck-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[test]
fn secrets_a_proxy_prints_are_redacted() {
    // Prints the client secret, its Basic encoding and a freshly issued OAuth response, then dies.
    let script = "import base64,os,urllib.request\nid,sec=os.environ['DATABRICKS_CLIENT_ID'],os.environ['DATABRICKS_CLIENT_SECRET']\nprint('secret', sec)\nprint('basic', base64.b64encode((id+':'+sec).encode()).decode())\nreq=urllib.request.Request(os.environ['DATABRICKS_HOST']+'/oidc/v1/token',data=b'grant_type=client_credentials',headers={'Authorization':'Basic '+base64.b64encode((id+':'+sec).encode()).decode()})\nprint(urllib.request.urlopen(req).read().decode(), flush=True)\nraise SystemExit(3)\n";
    let cmd = format!("exec python3 -c \"{}\"", script.replace('"', "\\\""));
    let r = hopcheck(&["check", "--proxy-cmd", &cmd], Duration::from_secs(20));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("out| secret [redacted fp:"), "{all}");
    assert!(all.contains("\"access_token\":\"[redacted fp:"), "{all}");
    assert!(!all.contains(mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET), "{all}");
    assert!(!all.contains("mock-oauth-"), "{all}");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_ID,
        mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET
    ));
    assert!(!all.contains(&basic), "{all}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn proxy_url_flow_from_the_readme() {
    let (agent, ws, proxy) = (free_port(), free_port(), free_port());
    let child = spawn(&[
        "check",
        "--proxy-url",
        &format!("http://127.0.0.1:{proxy}"),
        "--agent-listen",
        &format!("127.0.0.1:{agent}"),
        "--workspace-listen",
        &format!("127.0.0.1:{ws}"),
    ]);
    // Like a user: start the proxy once hopcheck is listening.
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", ws)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "hopcheck's workspace never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut proxy_proc = Command::new(mock_agent_bin())
        .arg("appkit")
        .env("AGENT_APP_URL", format!("http://127.0.0.1:{agent}"))
        .env("DATABRICKS_HOST", format!("http://127.0.0.1:{ws}"))
        .env("DATABRICKS_CLIENT_ID", mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_ID)
        .env("DATABRICKS_CLIENT_SECRET", mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET)
        .env("DATABRICKS_APP_PORT", proxy.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let r = finish(child, Duration::from_secs(40));
    let _ = proxy_proc.kill();
    let _ = proxy_proc.wait();
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(&format!("DATABRICKS_APP_PORT={proxy}")), "{}", r.stderr);
    assert!(!r.stderr.contains(mock_agent::config::DEFAULT_APPKIT_SP_CLIENT_SECRET), "{}", r.stderr);
}
