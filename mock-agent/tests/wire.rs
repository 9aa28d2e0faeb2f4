//! Every format, planner option, timing and fault of the mock agent, observed on the wire with
//! a raw TCP client (HTTP/1.1 chunk by chunk).

use mock_agent::{Listen, MockConfig, MockServers};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Wire {
    status: u16,
    head: String,
    /// HTTP/1.1 chunk payloads (or the whole body when not chunked).
    chunks: Vec<Vec<u8>>,
    /// The terminating zero-size chunk arrived.
    terminated: bool,
    first_byte_after: Duration,
    took: Duration,
    /// How the read ended when it was an error (a reset is `ConnectionReset`).
    read_error: Option<std::io::ErrorKind>,
    /// When each read returned data, since the request was sent.
    arrivals: Vec<Duration>,
}

impl Wire {
    fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body()).into_owned()
    }
}

async fn start() -> MockServers {
    MockServers::start(MockConfig { agent_auth: false, ..MockConfig::default() }, Listen::default()).await.unwrap()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// POSTs `body` to /invocations with the given scenario header and reads the raw response.
async fn post(m: &MockServers, scenario: Value, body: Value) -> Wire {
    post_with(m, &[("x-mock-scenario", scenario.to_string())], body).await
}

async fn post_with(m: &MockServers, headers: &[(&str, String)], body: Value) -> Wire {
    let addr = m.agent_url().trim_start_matches("http://").to_string();
    let body = body.to_string();
    let mut req = format!(
        "POST /invocations HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut arrivals = Vec::new();
    let mut read_error = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await.expect("response within 10s") {
            Ok(0) => break,
            Err(e) => {
                read_error = Some(e.kind());
                break;
            }
            Ok(n) => {
                arrivals.push(started.elapsed());
                raw.extend_from_slice(&buf[..n]);
            }
        }
    }
    let mut w = parse(raw, arrivals.first().copied().unwrap_or_default(), started.elapsed());
    w.read_error = read_error;
    w.arrivals = arrivals;
    w
}

fn parse(raw: Vec<u8>, first_byte_after: Duration, took: Duration) -> Wire {
    let head_end = find(&raw, b"\r\n\r\n").expect("headers");
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head[9..12].parse().unwrap();
    let mut rest = &raw[head_end + 4..];
    let mut chunks = Vec::new();
    let mut terminated = false;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        while let Some(nl) = find(rest, b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                terminated = true;
                break;
            }
            if rest.len() < nl + 2 + size {
                break;
            }
            chunks.push(rest[nl + 2..nl + 2 + size].to_vec());
            rest = &rest[(nl + 2 + size + 2).min(rest.len())..];
        }
    } else {
        chunks.push(rest.to_vec());
        terminated = true;
    }
    Wire { status, head, chunks, terminated, first_byte_after, took, read_error: None, arrivals: vec![] }
}

fn input(text: &str, stream: bool) -> Value {
    json!({"input": [{"role": "user", "content": text}], "stream": stream})
}

#[tokio::test]
async fn responses_full_format_is_the_openai_event_sequence() {
    let m = start().await;
    let w = post(&m, json!({"format": "responses-full"}), input("hi", true)).await;
    assert_eq!(w.status, 200);
    let text = w.text();
    let names: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let seqs: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap()["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..11).collect::<Vec<_>>());
    assert!(!text.contains("[DONE]"));
    let unary = post(&m, json!({"format": "responses-full"}), input("hi", false)).await;
    let v: Value = serde_json::from_slice(&unary.body()).unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["output"][0]["content"][0]["text"], "You said: hi");
}

#[tokio::test]
async fn chat_format_is_completion_chunks_then_done() {
    let m = start().await;
    let w = post(&m, json!({"format": "chat"}), input("hi", true)).await;
    let frames: Vec<Value> = w
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(frames.iter().all(|f| f["object"] == "chat.completion.chunk"));
    let text: String = frames.iter().filter_map(|f| f["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "You said: hi");
    assert_eq!(frames.last().unwrap()["choices"][0]["finish_reason"], "stop");
    assert!(w.text().ends_with("data: [DONE]\n\n"));
    let unary = post(&m, json!({"format": "chat"}), input("hi", false)).await;
    let v: Value = serde_json::from_slice(&unary.body()).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "You said: hi");
}

#[tokio::test]
async fn strict_responses_agent_type_rejects_messages_untyped_accepts_anything() {
    let m = start().await;
    let strict =
        post(&m, json!({"agent_type": "responses"}), json!({"messages": [{"role": "user", "content": "hello"}]})).await;
    assert_eq!(strict.status, 400);
    assert!(strict
        .text()
        .contains("Field required [type=missing, input_value={'messages': [{'role': 'u...', 'content': 'hello'}]}"));
    let untyped = post(&m, json!({}), json!({"foo": 1})).await;
    assert_eq!(untyped.status, 200);
}

#[tokio::test]
async fn output_guardrail_blocks_streams_before_any_sse_byte_but_not_unary() {
    let m = start().await;
    let g = json!({"guardrail": {"mode": "output", "name": "pii"}});
    let w = post(&m, g.clone(), input("hi", true)).await;
    assert_eq!(w.status, 400);
    assert!(w.head.contains("content-type: application/json"), "{}", w.head);
    assert_eq!(w.text(), r#"{"error_code":"BAD_REQUEST","message":"Response blocked by output guardrail 'pii'."}"#);
    let ok = post(&m, g, input("hi", false)).await;
    assert_eq!(ok.status, 200);
    let mid = post(&m, json!({"guardrail": {"mode": "output-midstream", "name": "pii"}}), input("hi", true)).await;
    assert_eq!(mid.status, 200);
    let t = mid.text();
    assert!(t.contains("\"delta\": \"said: \"") && t.contains("Response blocked by output guardrail 'pii'."), "{t}");
    assert!(t.ends_with("data: [DONE]\n\n") && !t.contains("\"delta\": \"hi\""));
}

#[tokio::test]
async fn input_guardrail_blocks_keywords_streaming_or_not() {
    let m = start().await;
    let g = json!({"guardrail": {"mode": "input", "name": "topics", "keywords": ["Secret"]}});
    for stream in [true, false] {
        let w = post(&m, g.clone(), input("tell me the secret plan", stream)).await;
        assert_eq!(w.status, 400);
        assert_eq!(
            w.text(),
            r#"{"error_code":"BAD_REQUEST","message":"Request blocked by input guardrail 'topics'."}"#
        );
    }
    assert_eq!(post(&m, g, input("hello", true)).await.status, 200);
}

#[tokio::test]
async fn each_planned_write_is_its_own_chunk() {
    let m = start().await;
    let per_event = post(&m, json!({}), input("hi", true)).await;
    assert_eq!(per_event.chunks.len(), 5);
    let reference = per_event.body();
    let coalesced = post(&m, json!({"chunking": {"mode": "coalesced"}}), input("hi", true)).await;
    assert_eq!(coalesced.chunks.len(), 1);
    let fixed = post(&m, json!({"chunking": {"mode": "fixed", "size": 7}}), input("hi", true)).await;
    assert!(
        fixed.chunks.iter().all(|c| c.len() == 7)
            || fixed.chunks[..fixed.chunks.len() - 1].iter().all(|c| c.len() == 7)
    );
    assert_eq!(fixed.chunks.len(), reference.len().div_ceil(7));
    let random = json!({"chunking": {"mode": "random", "seed": 42, "max": 16}});
    let r1 = post(&m, random.clone(), input("hi", true)).await;
    let r2 = post(&m, random, input("hi", true)).await;
    let sizes = |w: &Wire| w.chunks.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(&r1), sizes(&r2), "a seed reproduces the same cuts");
    assert!(r1.chunks.len() > 10 && r1.chunks.iter().all(|c| c.len() <= 16));
    let distinct: std::collections::BTreeSet<usize> = sizes(&r1).into_iter().collect();
    assert!(distinct.len() > 4, "sizes vary: {distinct:?}");
    let other = post(&m, json!({"chunking": {"mode": "random", "seed": 43, "max": 16}}), input("hi", true)).await;
    assert_ne!(sizes(&other), sizes(&r1), "another seed cuts elsewhere");
    for w in [&coalesced, &fixed, &r1] {
        assert_eq!(w.body().len(), reference.len(), "only the cuts differ");
    }
}

#[tokio::test]
async fn cuts_inside_utf8_characters_and_between_cr_and_lf() {
    let m = start().await;
    let utf8 =
        post(&m, json!({"format": "responses-full", "chunking": {"mode": "split-utf8"}}), input("héllo ✓", true)).await;
    let body = utf8.body();
    let text = std::str::from_utf8(&body).expect("the joined stream is valid UTF-8");
    let multibyte = text.chars().filter(|c| c.len_utf8() > 1).count();
    let cut_inside = utf8.chunks.iter().filter(|c| std::str::from_utf8(c).is_err()).count();
    assert!(multibyte >= 8, "the message's é and ✓ appear in several events: {multibyte}");
    assert!(
        cut_inside >= multibyte,
        "every multi-byte character is cut: {cut_inside} chunks break one, {multibyte} characters"
    );
    let crlf =
        post(&m, json!({"framing": {"line_ending": "crlf"}, "chunking": {"mode": "split-crlf"}}), input("hi", true))
            .await;
    let pairs = crlf.chunks.windows(2).filter(|w| w[0].ends_with(b"\r") && w[1].starts_with(b"\n")).count();
    assert!(pairs >= 10, "CR and LF land in different chunks ({pairs} times)");
}

#[tokio::test]
async fn framing_variants_on_the_wire() {
    let m = start().await;
    let cr = post(&m, json!({"framing": {"line_ending": "cr"}}), input("hi", true)).await;
    assert!(cr.text().ends_with("data: [DONE]\r\r") && !cr.text().contains('\n'));
    let crlf = post(&m, json!({"framing": {"line_ending": "crlf"}}), input("hi", true)).await;
    assert!(crlf.text().ends_with("data: [DONE]\r\n\r\n"));
    let nospace = post(&m, json!({"framing": {"data_space": false}}), input("hi", true)).await;
    assert!(nospace.text().starts_with("data:{") && !nospace.text().contains("data: "));
    let comments = post(&m, json!({"framing": {"comments": true}}), input("hi", true)).await;
    assert!(comments.text().starts_with(": keep-alive\ndata: "));
    let bom = post(&m, json!({"framing": {"bom": true}}), input("hi", true)).await;
    assert!(bom.body().starts_with(&[0xEF, 0xBB, 0xBF, b'd']));
    let multi = post(&m, json!({"framing": {"multiline_data": true}}), input("hi", true)).await;
    let first_event = multi.text().split("\n\n").next().unwrap().to_string();
    let joined: Vec<&str> = first_event.lines().map(|l| l.strip_prefix("data: ").unwrap()).collect();
    assert!(joined.len() > 1);
    let v: Value = serde_json::from_str(&joined.join("\n")).unwrap();
    assert_eq!(v["delta"], "You ");
}

#[tokio::test]
async fn timing_ttfb_chunk_delay_and_cold_start() {
    let m = start().await;
    let slow = post(&m, json!({"timing": {"ttfb_ms": 300}}), input("hi", true)).await;
    assert!(slow.first_byte_after >= Duration::from_millis(300), "{:?}", slow.first_byte_after);
    let paced = post(&m, json!({"timing": {"chunk_delay_ms": 100}}), input("hi", true)).await;
    assert!(paced.took >= Duration::from_millis(400), "4 pauses between 5 writes: {:?}", paced.took);
    let gaps: Vec<Duration> = paced.arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().filter(|g| **g >= Duration::from_millis(80)).count() >= 4,
        "the writes arrive spaced: {gaps:?}"
    );
    let scenario = json!({"timing": {"cold_start_ms": 300}});
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // Reset re-arms the cold start (and restores the start-up scenario), then set the delay.
    client.post(format!("{}/_mock/reset", m.agent_url())).send().await.unwrap();
    client.post(format!("{}/_mock/scenario", m.agent_url())).body(scenario.to_string()).send().await.unwrap();
    let first = post_with(&m, &[], input("hi", false)).await;
    let second = post_with(&m, &[], input("hi", false)).await;
    assert!(first.took >= Duration::from_millis(300), "{:?}", first.took);
    assert!(second.took < Duration::from_millis(300), "{:?}", second.took);
}

#[tokio::test]
async fn status_reset_truncate_and_error_frame_faults() {
    let m = start().await;
    let s = post(
        &m,
        json!({"fault": {"kind": "status", "status": 503, "body": "upstream busy", "content_type": "text/plain"}}),
        input("hi", true),
    )
    .await;
    assert_eq!(s.status, 503);
    assert_eq!(s.text(), "upstream busy");
    assert!(s.head.contains("content-type: text/plain"), "{}", s.head);
    let reset = post(&m, json!({"fault": {"kind": "reset-after", "writes": 2}}), input("hi", true)).await;
    assert_eq!(reset.chunks.len(), 2);
    assert!(!reset.terminated, "the connection dropped without the terminating chunk");
    assert_eq!(reset.read_error, Some(std::io::ErrorKind::ConnectionReset), "a TCP RST, not a FIN");
    let truncated = post(&m, json!({"fault": {"kind": "truncate-after", "writes": 2}}), input("hi", true)).await;
    assert_eq!(truncated.chunks.len(), 2);
    assert!(truncated.terminated && !truncated.text().contains("[DONE]"));
    let error =
        post(&m, json!({"fault": {"kind": "error-frame-after", "events": 1, "message": "kaput"}}), input("hi", true))
            .await;
    assert_eq!(error.text(), "data: {\"type\": \"response.output_text.delta\", \"item_id\": \"msg_echo_1\", \"delta\": \"You \"}\n\ndata: {\"error\": \"kaput\"}\n\ndata: [DONE]\n\n");
}

#[tokio::test]
async fn huge_event_and_invalid_utf8() {
    let m = start().await;
    let huge = post(&m, json!({"fault": {"kind": "huge-event", "bytes": 1_048_576}}), input("hi", true)).await;
    assert_eq!(huge.status, 200);
    let biggest = huge.chunks.iter().map(Vec::len).max().unwrap();
    assert!(biggest > 1_048_576, "one event of 1 MiB+ in one write: {biggest}");
    let bad = post(&m, json!({"fault": {"kind": "invalid-utf8"}}), input("hi", true)).await;
    assert!(std::str::from_utf8(&bad.body()).is_err());
}

#[tokio::test]
async fn hang_never_answers_and_the_journal_sees_the_client_leave() {
    let m = start().await;
    let addr = m.agent_url().trim_start_matches("http://").to_string();
    let body = input("hi", true).to_string();
    let req = format!(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nx-mock-scenario: {{\"fault\": {{\"kind\": \"hang\"}}}}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await;
    assert!(read.is_err(), "hang must not answer");
    drop(s);
    let closed =
        wait_for(|| m.journal().connections().iter().any(|c| c.listener == "agent" && c.closed_unix_ms.is_some()))
            .await;
    assert!(closed, "the journal records the client connection closing");
}

#[tokio::test]
async fn journal_tells_whether_the_client_aborted_mid_stream() {
    let m = start().await;
    let addr = m.agent_url().trim_start_matches("http://").to_string();
    let body = input("abort-me", true).to_string();
    let req = format!(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nx-mock-scenario: {{\"timing\": {{\"chunk_delay_ms\": 300}}}}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 256];
    let _ = s.read(&mut buf).await.unwrap();
    drop(s);
    let aborted = wait_for(|| {
        m.journal().entries().iter().any(|e| e.body.contains("abort-me") && e.body_complete == Some(false))
    })
    .await;
    assert!(aborted, "{:#?}", m.journal().entries());
    let full = post(&m, json!({}), input("complete-me", true)).await;
    assert!(full.terminated);
    assert!(m.journal().entries().iter().any(|e| e.body.contains("complete-me") && e.body_complete == Some(true)));
}

async fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test]
async fn control_api_sets_resets_and_rejects_scenarios() {
    let m = start().await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = |p: &str| format!("{}/_mock/{p}", m.agent_url());
    let r = c.post(url("scenario")).body(r#"{"format": "chat"}"#).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(post_with(&m, &[], input("hi", true)).await.text().contains("chat.completion.chunk"));
    let bad = c.post(url("scenario")).body(r#"{"format": "klingon"}"#).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("unknown variant"));
    let bad_header = post_with(&m, &[("x-mock-scenario", "{nope".into())], input("hi", true)).await;
    assert_eq!(bad_header.status, 400);
    c.post(url("reset")).send().await.unwrap();
    assert!(post_with(&m, &[], input("hi", true)).await.text().contains("response.output_text.delta"));
    let j: Value = c.get(url("journal")).send().await.unwrap().json().await.unwrap();
    assert_eq!(j["entries"].as_array().unwrap().len(), 1, "reset cleared the journal; one request since");
}

#[tokio::test]
async fn the_obo_token_is_echoed_only_as_a_fingerprint_unless_asked() {
    let m = start().await;
    let token = ("x-forwarded-access-token", "user-secret-token-123".to_string());
    let default = post_with(&m, std::slice::from_ref(&token), input("hi", false)).await;
    assert!(!default.text().contains("user-secret-token-123"), "{}", default.text());
    assert!(default.text().contains("\"x-forwarded-access-token\":\"fp:"), "{}", default.text());
    let recorded =
        post_with(&m, &[token, ("x-mock-scenario", r#"{"echo_secrets": true}"#.into())], input("hi", false)).await;
    assert!(recorded.text().contains("user-secret-token-123"));
}

#[tokio::test]
async fn agent_and_trace_id_fields_over_http() {
    let m = start().await;
    let trace = ("x-mlflow-return-trace-id", "true".to_string());
    let untyped = r#"{"agent": "untyped-echo", "trace_ids": "as-recorded"}"#.to_string();
    let w = post_with(
        &m,
        &[("x-mock-scenario", untyped.clone()), trace.clone()],
        json!({"messages": [{"role": "user", "content": "hi"}], "stream": true}),
    )
    .await;
    assert!(
        w.text()
            .starts_with("data: {\"delta\": {\"role\": \"assistant\", \"content\": \"You \", \"id\": \"msg_echo_1\"}}"),
        "{}",
        w.text()
    );
    assert!(!w.text().contains("trace_id"), "an untyped server never returns a trace id when as-recorded");
    let u = post_with(
        &m,
        &[("x-mock-scenario", untyped), trace.clone()],
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(
        u.text(),
        r#"{"messages":[{"role":"assistant","content":"You said: hi","id":"msg_echo_1"}],"request_type":"dict"}"#
    );
    let on_request = post_with(&m, &[trace], input("hi", true)).await;
    assert!(on_request.text().contains("data: {\"trace_id\": \"trace:/main.agents.hopcheck/"));
}

#[tokio::test]
async fn faults_and_guardrails_in_the_other_formats() {
    let m = start().await;
    let full = post(
        &m,
        json!({"format": "responses-full", "fault": {"kind": "error-frame-after", "events": 1, "message": "kaput"}}),
        input("hi", true),
    )
    .await;
    assert!(
        full.text().contains("event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"kaput\""),
        "{}",
        full.text()
    );
    assert!(!full.text().contains("response.completed"));
    let chat =
        post(&m, json!({"format": "chat", "guardrail": {"mode": "output-midstream", "name": "g"}}), input("hi", true))
            .await;
    assert!(
        chat.text().contains("chat.completion.chunk")
            && chat.text().contains("Response blocked by output guardrail 'g'.")
    );
    let blocked =
        post(&m, json!({"format": "responses-full", "guardrail": {"mode": "output"}}), input("hi", true)).await;
    assert_eq!(blocked.status, 400);
}

#[tokio::test]
async fn bodies_up_to_16_mib_are_accepted_and_bad_scenarios_refused() {
    let m = start().await;
    let big = json!({"input": [{"role": "user", "content": "x".repeat(5 * 1024 * 1024)}]});
    let w = post_with(&m, &[], big).await;
    assert_eq!(w.status, 200, "a 5 MiB body is fine (the real server has no limit)");
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    for bad in ["[]", r#"{"fault": {"kind": "hang", "writes": 3}}"#, r#"{"chunking": {"mode": "split-crlf"}}"#] {
        let r = c.post(format!("{}/_mock/scenario", m.agent_url())).body(bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    }
    let r = c.get(format!("{}/_mock/journal?nope=1", m.agent_url())).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn journal_filters_and_connections_over_http() {
    let m = start().await;
    post_with(&m, &[], input("needle-one", false)).await;
    post_with(&m, &[], input("other", false)).await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |q: &'static str| {
        let c = c.clone();
        let url = format!("{}/_mock/{q}", m.agent_url());
        async move { c.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(get("journal?body_contains=needle-one").await["entries"].as_array().unwrap().len(), 1);
    assert_eq!(get("journal?method=POST&path=/invocations").await["entries"].as_array().unwrap().len(), 2);
    assert_eq!(get("journal?method=GET").await["entries"].as_array().unwrap().len(), 0);
    let conns = get("connections").await;
    let agent_conns: Vec<&Value> =
        conns["connections"].as_array().unwrap().iter().filter(|c| c["listener"] == "agent").collect();
    assert!(agent_conns.len() >= 2 && agent_conns.iter().all(|c| c["opened_unix_ms"].is_u64()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_events_do_not_stall_other_requests() {
    let m = start().await;
    let url = format!("{}/invocations", m.agent_url());
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let huge: Vec<_> = (0..4)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            tokio::spawn(async move {
                let r = c
                    .post(url)
                    .header("x-mock-scenario", r#"{"fault": {"kind": "huge-event", "bytes": 2097152}, "chunking": {"mode": "fixed", "size": 1}}"#)
                    .body(input("hi", true).to_string())
                    .send()
                    .await
                    .unwrap();
                r.bytes().await.unwrap().len()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let health = c.get(format!("{}/health", m.agent_url())).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "health took {:?} while huge events were built",
        started.elapsed()
    );
    for h in huge {
        assert!(h.await.unwrap() > 2_097_152);
    }
}
