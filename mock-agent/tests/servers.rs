//! The mock agent and workspace over real HTTP on 127.0.0.1:0.

use mock_agent::config::{DEFAULT_APPKIT_SP_CLIENT_ID as SP_ID, DEFAULT_APPKIT_SP_CLIENT_SECRET as SP_SECRET};
use mock_agent::config::{OUTSIDER_SP_CLIENT_ID, OUTSIDER_SP_CLIENT_SECRET};
use mock_agent::{Listen, MockConfig, MockServers};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start() -> MockServers {
    MockServers::start(MockConfig::default(), Listen::default()).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn token(m: &MockServers, id: &str, secret: &str) -> String {
    let v: Value = client()
        .post(format!("{}/oidc/v1/token", m.workspace_url()))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["token_type"], "Bearer");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn agent_requires_a_bearer_with_can_use() {
    let m = start().await;
    let url = format!("{}/invocations", m.agent_url());
    let body = r#"{"input":[{"role":"user","content":"hi"}]}"#;
    let r = client().post(&url).body(body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let outsider = token(&m, OUTSIDER_SP_CLIENT_ID, OUTSIDER_SP_CLIENT_SECRET).await;
    let r = client().post(&url).bearer_auth(&outsider).body(body).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("lacks CAN_USE"));
    let r = client().post(&url).bearer_auth("forged").body(body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let sp = token(&m, SP_ID, SP_SECRET).await;
    let r = client().post(&url).bearer_auth(&sp).body(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"object":"response","output":[{"type":"message","id":"msg_echo_1","content":[{"text":"You said: hi","type":"output_text","annotations":[]}],"role":"assistant"}],"custom_outputs":{"headers_seen":{}}}"#
    );
    let bad = client()
        .post(format!("{}/oidc/v1/token", m.workspace_url()))
        .basic_auth(SP_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}

/// Reads a whole HTTP/1.1 response from a raw socket (the server closes after it).
async fn raw_exchange(addr: &str, request: String) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn every_sse_frame_is_its_own_http_chunk_and_the_trace_frame_precedes_done() {
    let m =
        MockServers::start(MockConfig { agent_auth: false, ..MockConfig::default() }, Listen::default()).await.unwrap();
    let addr = m.agent_url().trim_start_matches("http://").to_string();
    let body = r#"{"input":[{"role":"user","content":"hello"}],"stream":true}"#;
    let req = format!(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-mlflow-return-trace-id: TRUE\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let raw = raw_exchange(&addr, req).await;
    let (head, chunked) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("content-type: text/event-stream; charset=utf-8"), "{head}");
    assert!(head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    // Decode the chunk framing: every chunk must be exactly one `data: …\n\n` frame.
    let mut rest = chunked;
    let mut chunks = Vec::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size, 16).unwrap();
        if n == 0 {
            break;
        }
        chunks.push(after[..n].to_string());
        rest = &after[n + 2..];
    }
    assert_eq!(chunks.len(), 6, "{chunks:#?}");
    for c in &chunks {
        assert!(c.starts_with("data: ") && c.ends_with("\n\n") && c.matches("data: ").count() == 1, "{c:?}");
    }
    assert_eq!(
        chunks[0],
        "data: {\"type\": \"response.output_text.delta\", \"item_id\": \"msg_echo_1\", \"delta\": \"You \"}\n\n"
    );
    assert!(chunks[4].starts_with("data: {\"trace_id\": \"trace:/main.agents.hopcheck/"), "{}", chunks[4]);
    assert_eq!(chunks[5], "data: [DONE]\n\n");
}

#[tokio::test]
async fn bad_bodies_get_the_recorded_answers() {
    let m =
        MockServers::start(MockConfig { agent_auth: false, ..MockConfig::default() }, Listen::default()).await.unwrap();
    let url = format!("{}/invocations", m.agent_url());
    for (body, status, expected) in [
        ("", 400, r#"{"detail":"Invalid JSON in request body: Expecting value: line 1 column 1 (char 0)"}"#),
        (
            "this is not json",
            400,
            r#"{"detail":"Invalid JSON in request body: Expecting value: line 1 column 1 (char 0)"}"#,
        ),
        (
            "{\"input\":",
            400,
            r#"{"detail":"Invalid JSON in request body: Expecting value: line 1 column 10 (char 9)"}"#,
        ),
        ("[1,2]", 500, "Internal Server Error"),
        ("null", 500, "Internal Server Error"),
    ] {
        let r = client().post(&url).body(body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{body:?}");
        assert_eq!(r.text().await.unwrap(), expected, "{body:?}");
    }
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let r = client().get(format!("{}/nope", m.agent_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
}

#[tokio::test]
async fn journal_records_raw_paths_with_tokens_fingerprinted() {
    let m = start().await;
    let sp = token(&m, SP_ID, SP_SECRET).await;
    let _ = client()
        .post(format!("{}//invocations", m.agent_url()))
        .bearer_auth(&sp)
        .header("x-forwarded-access-token", "user-token-abcdef")
        .body("{}")
        .send()
        .await
        .unwrap();
    let v: Value = get_json(format!("{}/_mock/journal?listener=agent", m.agent_url()), "").await;
    let text = v.to_string();
    assert!(!text.contains(&sp) && !text.contains("user-token-abcdef") && !text.contains(SP_SECRET), "{text}");
    let e = &v["entries"][0];
    assert_eq!(e["raw_path"], "//invocations");
    assert_eq!(e["status"], 404);
    let all: Value = get_json(format!("{}/_mock/journal?path=/oidc/v1/token", m.agent_url()), "").await;
    assert_eq!(all["entries"].as_array().unwrap().len(), 1);
}

/// GET as JSON, with a bearer unless `token` is empty.
async fn get_json(url: String, token: &str) -> Value {
    let req = client().get(url);
    let req = if token.is_empty() { req } else { req.bearer_auth(token) };
    req.send().await.unwrap().json().await.unwrap()
}

async fn sql(m: &MockServers, token: &str, body: Value) -> Value {
    client()
        .post(format!("{}/api/2.0/sql/statements", m.workspace_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn statement_api_runs_on_the_real_engine_and_fails_with_http_200() {
    let m = start().await;
    let t = token(&m, SP_ID, SP_SECRET).await;
    let wh = MockConfig::default().warehouse_id;
    let ok = sql(&m, &t, json!({"warehouse_id": wh, "statement": "SELECT :n + 1 AS x, :s AS s", "parameters": [{"name": "n", "value": "41", "type": "INT"}, {"name": "s", "value": "v"}]})).await;
    assert_eq!(ok["status"]["state"], "SUCCEEDED");
    assert_eq!(ok["result"]["data_array"], json!([["42", "v"]]));
    let failed = sql(&m, &t, json!({"warehouse_id": wh, "statement": "SELECT * FROM main.agents.nope"})).await;
    assert_eq!(failed["status"]["state"], "FAILED");
    assert!(failed["status"]["error"]["message"].as_str().unwrap().contains("nope"));
    let pending = sql(&m, &t, json!({"warehouse_id": wh, "statement": "SELECT 1", "wait_timeout": "0s"})).await;
    assert_eq!(pending["status"]["state"], "PENDING");
    let id = pending["statement_id"].as_str().unwrap();
    let mut state = String::new();
    for _ in 0..5 {
        let v: Value = get_json(format!("{}/api/2.0/sql/statements/{id}", m.workspace_url()), &t).await;
        state = v["status"]["state"].as_str().unwrap().to_string();
        if state == "SUCCEEDED" {
            assert_eq!(v["result"]["data_array"], json!([["1"]]));
            break;
        }
    }
    assert_eq!(state, "SUCCEEDED");
    let r =
        client().post(format!("{}/api/2.0/sql/statements", m.workspace_url())).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn mlflow_feedback_calls_land_in_the_assessments_table() {
    let m = start().await;
    let t = token(&m, SP_ID, SP_SECRET).await;
    let hex = "0af7651916cd43dd8448eb211c80319c";
    let v4 = json!({"assessment_name": "user_feedback", "trace_id": hex, "trace_location": {"type": "UC_TABLE_PREFIX", "uc_table_prefix": {"catalog_name": "main", "schema_name": "agents", "table_prefix": "hopcheck"}}, "source": {"source_type": "HUMAN", "source_id": "alice@example.com"}, "create_time": "2026-12-03T16:23:39.826Z", "last_update_time": "2026-12-03T16:23:39.826Z", "feedback": {"value": true}, "rationale": "helpful", "valid": true});
    let r = client()
        .post(format!(
            "{}/api/4.0/mlflow/traces/main.agents.hopcheck/{hex}/assessments?sql_warehouse_id=x",
            m.workspace_url()
        ))
        .bearer_auth(&t)
        .json(&v4)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();
    assert!(saved["assessment_id"].as_str().unwrap().starts_with("a-"));
    let v3 = json!({"assessment": {"assessment_name": "user_feedback", "trace_id": format!("tr-{hex}"), "source": {"source_type": "HUMAN", "source_id": "bob@example.com"}, "feedback": {"value": false}}});
    let r = client()
        .post(format!("{}/api/3.0/mlflow/traces/tr-{hex}/assessments", m.workspace_url()))
        .bearer_auth(&t)
        .json(&v3)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap()["assessment"]["assessment_id"].is_string());
    let wrong = client()
        .post(format!("{}/api/4.0/mlflow/traces/main.other.x/{hex}/assessments", m.workspace_url()))
        .bearer_auth(&t)
        .json(&v4)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let rows = sql(&m, &t, json!({"warehouse_id": MockConfig::default().warehouse_id, "statement": "SELECT source_id, value FROM main.agents.hopcheck_assessments WHERE trace_id = :t ORDER BY source_id", "parameters": [{"name": "t", "value": hex}]})).await;
    assert_eq!(rows["result"]["data_array"], json!([["alice@example.com", "true"], ["bob@example.com", "false"]]));
}

#[tokio::test]
async fn apps_api_reports_the_real_field_names() {
    let m = start().await;
    m.set_appkit_url("http://127.0.0.1:9");
    let t = token(&m, SP_ID, SP_SECRET).await;
    let app: Value = get_json(format!("{}/api/2.0/apps/hopcheck-appkit", m.workspace_url()), &t).await;
    assert_eq!(app["url"], "http://127.0.0.1:9");
    assert_eq!(app["app_status"]["state"], "RUNNING");
    assert_eq!(app["compute_status"]["state"], "ACTIVE");
    assert_eq!(app["service_principal_client_id"], SP_ID);
    assert!(app.get("status").is_none(), "an App has no top-level status (the seed's .status.state is null)");
    let agent: Value = get_json(format!("{}/api/2.0/apps/hopcheck-agent", m.workspace_url()), &t).await;
    assert_eq!(agent["url"], m.agent_url());
    let me =
        client().get(format!("{}/api/2.0/preview/scim/v2/Me", m.workspace_url())).bearer_auth(&t).send().await.unwrap();
    assert_eq!(me.headers()["x-databricks-org-id"], MockConfig::default().workspace_id.as_str());
    assert_eq!(me.json::<Value>().await.unwrap()["userName"], SP_ID);
}

#[tokio::test]
async fn verification_explains_near_misses() {
    use mock_agent::Expectation;
    let m = start().await;
    let sp = token(&m, SP_ID, SP_SECRET).await;
    for path in ["/invocations/invocations", "//invocations"] {
        let _ = client().post(format!("{}{path}", m.agent_url())).bearer_auth(&sp).body("{}").send().await.unwrap();
    }
    let err = m.verify(&Expectation::invocations().header("authorization", &format!("Bearer {sp}"))).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("expected POST /invocations on the agent"), "{text}");
    assert!(text.contains("0 matched"), "{text}");
    assert!(text.contains("appended twice") && text.contains("trailing slash was not removed"), "{text}");
    assert!(!text.contains(&sp), "secrets stay fingerprinted: {text}");
    let _ = client()
        .post(format!("{}/invocations", m.agent_url()))
        .bearer_auth(&sp)
        .header("x-app-user-email", "bob@example.com")
        .body(r#"{"input":[]}"#)
        .send()
        .await
        .unwrap();
    m.verify(&Expectation::invocations().header("authorization", &format!("Bearer {sp}")).times(1)).unwrap();
    let wrong = m.verify(&Expectation::invocations().header("x-app-user-email", "alice@example.com")).unwrap_err();
    assert!(
        wrong.to_string().contains("x-app-user-email is \"bob@example.com\", expected \"alice@example.com\""),
        "{wrong}"
    );
    m.verify(&Expectation::invocations().header_absent("x-forwarded-access-token").body_contains("input")).unwrap();
}
