//! `mock-agent serve` as a Node or Python suite spawns it: one JSON line with both addresses.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serve_prints_its_addresses_as_one_json_line_and_serves() {
    let (mut child, v) =
        spawn_serve(&["--agent-listen", "127.0.0.1:0", "--workspace-listen", "127.0.0.1:0", "--format", "chat"]);
    let agent = v["agent"].as_str().unwrap().to_string();
    assert!(
        agent.starts_with("http://127.0.0.1:") && v["workspace"].as_str().unwrap().starts_with("http://127.0.0.1:")
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body = rt.block_on(async {
        let c = reqwest::Client::builder().no_proxy().build().unwrap();
        c.post(format!("{agent}/invocations"))
            .body(r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(body.contains("chat.completion.chunk"), "the --format flag took effect: {body}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn serve_rejects_a_bad_scenario_with_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-agent")).args(["serve", "--format", "klingon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variant `klingon`"));
}

/// Starts `mock-agent serve --auth off ARGS` and returns it with its first stdout line (JSON).
fn spawn_serve(args: &[&str]) -> (std::process::Child, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-agent"))
        .args(["serve", "--auth", "off"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, serde_json::from_str(&line).expect("first line is JSON"))
}

#[test]
fn convenience_flags_and_scenario_json_take_effect() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let (mut child, v) = spawn_serve(&[
        "--scenario",
        r#"{"framing": {"line_ending": "crlf"}}"#,
        "--agent-type",
        "responses",
        "--guardrail",
        "input",
        "--guardrail-name",
        "topics",
        "--guardrail-keyword",
        "secret",
        "--chunking",
        "split-crlf",
    ]);
    let agent = v["agent"].as_str().unwrap().to_string();
    let (scenario, blocked, strict) = rt.block_on(async {
        let scenario: serde_json::Value =
            c.get(format!("{agent}/_mock/scenario")).send().await.unwrap().json().await.unwrap();
        let blocked = c
            .post(format!("{agent}/invocations"))
            .body(r#"{"input":[{"role":"user","content":"the secret"}]}"#)
            .send()
            .await
            .unwrap();
        let strict = c.post(format!("{agent}/invocations")).body(r#"{"messages":[]}"#).send().await.unwrap().status();
        (scenario, blocked.text().await.unwrap(), strict)
    });
    assert_eq!(scenario["framing"]["line_ending"], "crlf");
    assert_eq!(scenario["chunking"]["mode"], "split-crlf");
    assert_eq!(scenario["agent_type"], "responses");
    assert!(blocked.contains("Request blocked by input guardrail 'topics'."), "{blocked}");
    assert_eq!(strict, 400);
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, v) = spawn_serve(&["--agent", "untyped-echo", "--chunking", "random:3:5"]);
    let agent = v["agent"].as_str().unwrap().to_string();
    let scenario: serde_json::Value =
        rt.block_on(async { c.get(format!("{agent}/_mock/scenario")).send().await.unwrap().json().await.unwrap() });
    assert_eq!(scenario["agent"], "untyped-echo");
    assert_eq!(scenario["chunking"], serde_json::json!({"mode": "random", "seed": 3, "max": 5}));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigterm_stops_serve_even_with_a_hanging_request() {
    let (mut child, v) = spawn_serve(&[]);
    let agent = v["agent"].as_str().unwrap().to_string();
    let hold = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let c = reqwest::Client::builder().no_proxy().timeout(std::time::Duration::from_secs(20)).build().unwrap();
            let _ = c
                .post(format!("{agent}/invocations"))
                .header("x-mock-scenario", r#"{"fault": {"kind": "hang"}}"#)
                .body("{}")
                .send()
                .await;
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(6), "serve did not exit after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = hold.join();
}
