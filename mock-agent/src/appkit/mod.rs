//! The reference AppKit proxy: `POST /api/chat` → Agent App `POST /invocations`, in Rust,
//! reading the environment a deployed AppKit app gets. `--defect` breaks one rule.

mod defect;

pub use defect::Defect;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// AppKit's `express.json({limit: "1mb"})`.
const BODY_LIMIT: usize = 1024 * 1024;
/// The seed's upstream timeout.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// What a deployed AppKit app is given.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub agent_app_url: String,
    pub databricks_host: String,
    pub client_id: String,
    pub client_secret: String,
    pub listen: SocketAddr,
    pub defect: Option<Defect>,
}

impl ProxyConfig {
    /// Reads `AGENT_APP_URL`, `DATABRICKS_HOST`, `DATABRICKS_CLIENT_ID`,
    /// `DATABRICKS_CLIENT_SECRET` and `DATABRICKS_APP_PORT` (or `PORT`, else 8000).
    pub fn from_env(defect: Option<Defect>) -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| var(name).ok_or_else(|| format!("{name} is not set"));
        let port_text = var("DATABRICKS_APP_PORT").or_else(|| var("PORT")).unwrap_or_else(|| "8000".into());
        let port: u16 =
            port_text.parse().map_err(|_| format!("DATABRICKS_APP_PORT/PORT {port_text:?} is not a port number"))?;
        Ok(Self {
            agent_app_url: required("AGENT_APP_URL")?,
            databricks_host: required("DATABRICKS_HOST")?,
            client_id: required("DATABRICKS_CLIENT_ID")?,
            client_secret: required("DATABRICKS_CLIENT_SECRET")?,
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            defect,
        })
    }
}

struct ProxyState {
    config: ProxyConfig,
    token_endpoint: String,
    http: reqwest::Client,
    /// Only used by the `cached-user-token` defect.
    first_user_token: Mutex<Option<String>>,
}

/// A running reference proxy.
pub struct ReferenceProxy {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ReferenceProxy {
    /// Discovers the workspace's token endpoint (as the SDK does at start-up), then listens.
    pub async fn start(config: ProxyConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().no_proxy().connect_timeout(Duration::from_secs(10)).build()?;
        let host = config.databricks_host.trim_end_matches('/').to_string();
        let discovery_url = format!("{host}/oidc/.well-known/oauth-authorization-server");
        let discovery: Value = http
            .get(&discovery_url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("OIDC discovery at {discovery_url} failed: {e}"))?
            .error_for_status()
            .map_err(|e| anyhow::anyhow!("OIDC discovery at {discovery_url} failed: {e}"))?
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("OIDC discovery at {discovery_url} is not JSON: {e}"))?;
        let token_endpoint = discovery
            .get("token_endpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("OIDC discovery at {discovery_url} has no token_endpoint"))?
            .to_string();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ProxyState { config, token_endpoint, http, first_user_token: Mutex::new(None) });
        let app = Router::new()
            .route("/api/chat", post(chat))
            .route("/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
            .with_state(state);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("reference proxy stopped: {e}");
            }
        });
        Ok(Self { addr, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until the task ends (it does not on its own).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for ReferenceProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json_error(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn invalid_body_shape() -> Response {
    json_error(StatusCode::BAD_REQUEST, json!({"error": "invalid_body_shape", "accepted": ["input", "messages"]}))
}

/// The dual request-body contract: `{input}` or `{messages: [...]}`, forwarded unchanged,
/// always asking the agent to stream (the route is SSE).
fn upstream_body(body: &Value, defect: Option<Defect>) -> Option<Value> {
    let obj = body.as_object()?;
    let has_input = obj.get("input").is_some();
    let has_messages = obj.get("messages").is_some_and(Value::is_array);
    if defect == Some(Defect::MessagesOnly) {
        // The historic bug: everything is treated as chat-style; `{input}` callers lose
        // their message and the agent answers an empty turn.
        let mut out = serde_json::Map::new();
        if let Some(m) = obj.get("messages") {
            out.insert("messages".into(), m.clone());
        }
        out.insert("stream".into(), json!(true));
        return (has_input || has_messages).then_some(Value::Object(out));
    }
    if has_input {
        Some(json!({"input": obj["input"], "stream": true}))
    } else if has_messages {
        Some(json!({"messages": obj["messages"], "stream": true}))
    } else {
        None
    }
}

async fn sp_token(state: &ProxyState) -> Result<String, String> {
    let resp = state
        .http
        .post(&state.token_endpoint)
        .basic_auth(&state.config.client_id, Some(&state.config.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("token endpoint unreachable: {}", e.without_url()))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match body.get("access_token").and_then(Value::as_str) {
        Some(t) if status.is_success() => Ok(t.to_string()),
        _ => Err(format!("token endpoint answered HTTP {}", status.as_u16())),
    }
}

fn inbound(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).map(str::to_string)
}

async fn chat(State(state): State<Arc<ProxyState>>, headers: HeaderMap, body: Bytes) -> Response {
    let defect = state.config.defect;
    if body.len() > BODY_LIMIT {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": "payload_too_large", "limit_bytes": BODY_LIMIT}),
        );
    }
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(upstream) = upstream_body(&parsed, defect) else {
        return invalid_body_shape();
    };

    let base = state.config.agent_app_url.trim_end_matches('/');
    let url = match defect {
        Some(Defect::DoubleInvocations) => format!("{base}/invocations/invocations"),
        _ => format!("{base}/invocations"),
    };
    let mut req = state
        .http
        .post(&url)
        .timeout(UPSTREAM_TIMEOUT)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "text/event-stream");
    if defect != Some(Defect::StripAuthorization) {
        // Resolved per request, as AppKit's getExecutionContext() inside the handler does.
        match sp_token(&state).await {
            Ok(token) => req = req.bearer_auth(token),
            Err(e) => {
                return json_error(StatusCode::BAD_GATEWAY, json!({"error": "sp_token_unavailable", "detail": e}))
            }
        }
    }
    let user_token = match defect {
        Some(Defect::DropOboToken) => None,
        Some(Defect::CachedUserToken) => {
            let mut first = state.first_user_token.lock().expect("token cache lock");
            if first.is_none() {
                *first = inbound(&headers, "x-forwarded-access-token");
            }
            first.clone()
        }
        _ => inbound(&headers, "x-forwarded-access-token"),
    };
    if let Some(t) = user_token {
        req = req.header("x-forwarded-access-token", t);
    }
    if defect != Some(Defect::NoUserEmail) {
        if let Some(email) = inbound(&headers, "x-forwarded-email") {
            req = req.header("x-app-user-email", email);
        }
    }
    if let Some(flag) = inbound(&headers, "x-mlflow-return-trace-id") {
        req = req.header("x-mlflow-return-trace-id", flag);
    }
    let resp = match req.body(upstream.to_string()).send().await {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::BAD_GATEWAY,
                json!({"error": "agent_unreachable", "detail": e.without_url().to_string()}),
            )
        }
    };
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    if !status.is_success() {
        let text = resp.bytes().await.unwrap_or_default();
        return (status, [(header::CONTENT_TYPE, content_type)], text).into_response();
    }
    let is_sse = content_type.to_str().is_ok_and(|c| c.starts_with("text/event-stream"));
    let mut out = Response::new(Body::from_stream(resp.bytes_stream()));
    let h = out.headers_mut();
    if is_sse {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    } else {
        h.insert(header::CONTENT_TYPE, content_type);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dual_body_shape_is_forwarded_unchanged_with_stream() {
        let input = json!({"input": [{"role": "user", "content": "hi"}], "extra": 1});
        assert_eq!(
            upstream_body(&input, None).unwrap(),
            json!({"input": [{"role": "user", "content": "hi"}], "stream": true})
        );
        let messages = json!({"messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(
            upstream_body(&messages, None).unwrap(),
            json!({"messages": [{"role": "user", "content": "hi"}], "stream": true})
        );
        for bad in [json!({"foo": 1}), json!({"messages": "hi"}), json!([1]), Value::Null, json!("x")] {
            assert!(upstream_body(&bad, None).is_none(), "{bad}");
        }
    }

    #[test]
    fn messages_only_defect_drops_input_callers() {
        let input = json!({"input": [{"role": "user", "content": "hi"}]});
        assert_eq!(upstream_body(&input, Some(Defect::MessagesOnly)).unwrap(), json!({"stream": true}));
    }

    #[test]
    fn defect_names_round_trip() {
        for d in Defect::ALL {
            assert_eq!(d.name().parse::<Defect>().unwrap(), d);
        }
        assert!("nope".parse::<Defect>().unwrap_err().contains("no-user-email"));
    }
}
