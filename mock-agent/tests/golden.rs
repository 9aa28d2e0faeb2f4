//! Golden test: every HTTP request recorded from the real MLflow agent server 3.18
//! (fixtures/mlflow-agent-server-3.18/captures) replayed against the mock over a raw socket.
//! Status, the headers that matter, and the body bytes — chunk by chunk for streams — must be
//! identical; only trace ids (random per request) are masked.

use mock_agent::agent::scenario::{AgentKind, AgentType, TraceIds};
use mock_agent::agent::Scenario;
use mock_agent::{Listen, MockConfig, MockServers, TraceIdForm};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Capture {
    name: String,
    server: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    response: HttpResponse,
}

#[derive(Debug, PartialEq)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    /// Chunk payloads for a chunked body, else one element.
    chunks: Vec<Vec<u8>>,
    chunked: bool,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mlflow-agent-server-3.18/captures")
}

/// Shell words of a curl command line (backslash escapes and single quotes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            '\'' => {
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                    cur.push(n);
                }
                in_word = true;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let start = find(raw, b"HTTP/1.1 ").expect("a status line");
    let raw = &raw[start..];
    let head_end = find(raw, b"\r\n\r\n").expect("end of headers");
    let head = std::str::from_utf8(&raw[..head_end]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = &raw[head_end + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let mut chunks = Vec::new();
    if chunked {
        loop {
            let nl = find(body, b"\r\n").expect("chunk size line");
            let size = usize::from_str_radix(std::str::from_utf8(&body[..nl]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            chunks.push(body[nl + 2..nl + 2 + size].to_vec());
            body = &body[nl + 2 + size + 2..];
        }
    } else {
        let len = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        chunks.push(body[..len.min(body.len())].to_vec());
    }
    HttpResponse { status, headers, chunks, chunked }
}

fn parse_capture(path: &Path) -> Capture {
    let raw = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let curl = text.lines().skip_while(|l| *l != "### REQUEST").nth(1).expect("curl line");
    let words = shell_words(curl);
    let mut method = "GET".to_string();
    let mut url = String::new();
    let mut headers = Vec::new();
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "-X" => {
                method = words[i + 1].clone();
                i += 1;
            }
            "-H" => {
                let (n, v) = words[i + 1].split_once(':').unwrap();
                headers.push((n.trim().to_string(), v.trim().to_string()));
                i += 1;
            }
            "--data-binary" => i += 1,
            w if w.starts_with("http://") => url = w.to_string(),
            _ => {}
        }
        i += 1;
    }
    let path_and_query = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_else(|| "/".into());
    let open = find(&raw, b"<<<\n").unwrap() + 4;
    let close = open + find(&raw[open..], b">>>\n").unwrap();
    let body = raw[open..close.saturating_sub(1).max(open)].to_vec();
    let resp_start = find(&raw, b"### RESPONSE (curl").unwrap();
    let resp_end = find(&raw[resp_start..], b"### RESPONSE BODY").map_or(raw.len(), |e| resp_start + e);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let server = name.split('_').nth(1).unwrap().to_string();
    Capture {
        name,
        server,
        method,
        path: path_and_query,
        headers,
        body,
        response: parse_response(&raw[resp_start..resp_end]),
    }
}

async fn replay(addr: &str, c: &Capture) -> HttpResponse {
    let mut req =
        format!("{} {} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n", c.method, c.path);
    for (n, v) in &c.headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if c.method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", c.body.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(&c.body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    parse_response(&out)
}

/// Trace ids are random per request: mask them (same length, so chunk sizes still compare).
fn mask(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("tr-") {
        out.push_str(&rest[..i + 3]);
        let hex: String = rest[i + 3..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        out.push_str(&"0".repeat(hex.len()));
        rest = &rest[i + 3 + hex.len()..];
    }
    out.push_str(rest);
    out.into_bytes()
}

async fn mock_for(server: &str) -> MockServers {
    let scenario = match server {
        // The recorded agent echoes the OBO token in clear.
        "responses" => Scenario {
            agent_type: AgentType::Responses,
            trace_ids: TraceIds::AsRecorded,
            echo_secrets: true,
            ..Scenario::default()
        },
        _ => Scenario {
            agent: AgentKind::UntypedEcho,
            agent_type: AgentType::Untyped,
            trace_ids: TraceIds::AsRecorded,
            ..Scenario::default()
        },
    };
    let config =
        MockConfig { agent_auth: false, trace_id_form: TraceIdForm::Experiment, scenario, ..MockConfig::default() };
    MockServers::start(config, Listen::default()).await.unwrap()
}

#[tokio::test]
async fn every_recorded_request_replays_byte_for_byte() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(captures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".txt")
                && (n.contains("_responses_") || n.contains("_untyped_"))
                && n.as_bytes()[0].is_ascii_digit()
        })
        .collect();
    files.sort();
    assert!(files.len() >= 45, "expected the recorded captures, found {}", files.len());
    let responses = mock_for("responses").await;
    let untyped = mock_for("untyped").await;
    let mut failures = Vec::new();
    for file in &files {
        let c = parse_capture(file);
        let mock = if c.server == "responses" { &responses } else { &untyped };
        let addr = mock.agent_url().trim_start_matches("http://").to_string();
        let got = replay(&addr, &c).await;
        let want = &c.response;
        let mut problems = Vec::new();
        if got.status != want.status {
            problems.push(format!("status {} != recorded {}", got.status, want.status));
        }
        for h in ["content-type", "allow", "content-length"] {
            if got.header(h) != want.header(h) {
                problems.push(format!("{h}: {:?} != recorded {:?}", got.header(h), want.header(h)));
            }
        }
        if got.chunked != want.chunked {
            problems.push(format!("chunked {} != recorded {}", got.chunked, want.chunked));
        }
        // A HEAD response has no body on the wire, whatever content-length announces.
        let body_of = |r: &HttpResponse| -> Vec<Vec<u8>> {
            if c.method == "HEAD" {
                vec![]
            } else {
                r.chunks.iter().map(|c| mask(c)).collect()
            }
        };
        let (got_chunks, want_chunks) = (body_of(&got), body_of(want));
        if got_chunks != want_chunks {
            problems.push(format!(
                "body differs:\n      got      {:?}\n      recorded {:?}",
                got_chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>(),
                want_chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>()
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{}:\n    {}", c.name, problems.join("\n    ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} captures differ:\n{}", failures.len(), files.len(), failures.join("\n"));
}
