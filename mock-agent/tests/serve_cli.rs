//! `mock-agent serve` as a Node or Python suite spawns it: one JSON line with both addresses.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serve_prints_its_addresses_as_one_json_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-agent"))
        .args([
            "serve",
            "--agent-listen",
            "127.0.0.1:0",
            "--workspace-listen",
            "127.0.0.1:0",
            "--format",
            "chat",
            "--auth",
            "off",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("first line is JSON");
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
