//! Arbitrary bytes and headers never crash or hang the mock; each answer is the real server's
//! class of answer (200 object, 400 invalid JSON, 500 for non-objects and non-UTF-8).

use mock_agent::{Listen, MockConfig, MockServers};
use proptest::prelude::*;
use std::sync::OnceLock;
use std::time::Duration;

struct Fixture {
    rt: tokio::runtime::Runtime,
    url: String,
    client: reqwest::Client,
    _mocks: MockServers,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mocks = rt.block_on(async {
            MockServers::start(MockConfig { agent_auth: false, ..MockConfig::default() }, Listen::default())
                .await
                .unwrap()
        });
        // No pooling: the oversized-body test makes the server close its connection.
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Fixture { url: format!("{}/invocations", mocks.agent_url()), rt, client, _mocks: mocks }
    })
}

/// What the MLflow agent server answers for these bytes (`json.loads` on the raw body).
fn expected_status(body: &[u8]) -> u16 {
    let Ok(text) = std::str::from_utf8(body) else { return 500 };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() => 200,
        Ok(_) => 500,
        Err(_) => 400,
    }
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "\\PC{0,200}".prop_map(String::into_bytes),
        // Near-JSON: valid documents with a random cut or splice.
        (
            any::<u16>(),
            prop::sample::select(vec![
                r#"{"input":[{"role":"user","content":"hi"}],"stream":true}"#,
                r#"{"messages":[{"role":"user","content":"é✓"}]}"#,
                r#"[1,2,{"a":null}]"#,
                r#"{"input":"x","stream":"false","custom_inputs":{"k":[1,2.5e3,true]}}"#,
            ])
        )
            .prop_map(|(cut, doc)| doc.as_bytes()[..(cut as usize % (doc.len() + 1))].to_vec()),
    ]
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (
            prop::sample::select(vec![
                "content-type",
                "x-mlflow-return-trace-id",
                "x-app-user-email",
                "x-forwarded-access-token",
                "x-custom",
            ]),
            "[ -~]{0,40}",
        )
            .prop_map(|(n, v)| (n.to_string(), v)),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn any_body_gets_the_real_servers_class_of_answer(body in body_strategy(), headers in header_strategy(), stream in any::<bool>()) {
        let f = fixture();
        let mut body = body;
        if stream && body.starts_with(b"{") && expected_status(&body) == 200 {
            body = [&b"{\"stream\":true,"[..], &body[1..]].concat();
            if expected_status(&body) != 200 { body = b"{\"stream\":true}".to_vec(); }
        }
        let (status, text) = f.rt.block_on(async {
            let mut req = f.client.post(&f.url).body(body.clone());
            for (n, v) in &headers {
                req = req.header(n.as_str(), v.as_str());
            }
            let resp = req.send().await.expect("the mock answers");
            let status = resp.status().as_u16();
            (status, resp.bytes().await.expect("the body arrives whole"))
        });
        prop_assert_eq!(status, expected_status(&body), "body {:?}", String::from_utf8_lossy(&body));
        match status {
            400 => {
                let prefix: &[u8] = b"{\"detail\":\"Invalid JSON in request body: ";
                prop_assert!(text.starts_with(prefix), "{:?}", text);
            }
            500 => prop_assert_eq!(&text[..], b"Internal Server Error"),
            _ => prop_assert!(!text.is_empty()),
        }
    }
}

#[test]
fn oversized_bodies_are_refused_not_buffered() {
    let f = fixture();
    let status = f.rt.block_on(async {
        let big = vec![b' '; 17 * 1024 * 1024];
        f.client.post(&f.url).body(big).send().await.map(|r| r.status().as_u16())
    });
    // 413 (or the connection closed while sending): either way bounded, never a crash.
    assert!(matches!(status, Ok(413)) || status.is_err(), "{status:?}");
    let after = f.rt.block_on(async { f.client.post(&f.url).body("{}").send().await.unwrap().status().as_u16() });
    assert_eq!(after, 200, "the mock still serves");
}
