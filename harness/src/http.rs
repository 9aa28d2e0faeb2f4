//! HTTP exchanges with bounded time and memory: a hostile or hung peer cannot stall a run.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use std::time::{Duration, Instant};

/// Bodies past this size are cut (and say so).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A completed request/response.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    pub body_truncated: bool,
    pub elapsed: Duration,
}

impl Exchange {
    pub fn is_sse(&self) -> bool {
        self.content_type.as_deref().is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("text/event-stream"))
    }

    /// The first `max` characters of the body, for a failure message.
    pub fn body_excerpt(&self, max: usize) -> String {
        let trimmed = self.body.trim();
        if trimmed.chars().count() <= max {
            trimmed.to_string()
        } else {
            format!("{}…", trimmed.chars().take(max).collect::<String>())
        }
    }
}

/// Why an exchange produced no response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// Nothing accepted the connection.
    Connect,
    /// Connected, but no complete response in time (hung, or a stream that never ends).
    Timeout,
    /// An answer that is not HTTP, or a connection dropped mid-response.
    Protocol,
    /// The request could not even be built.
    Request,
}

#[derive(Clone, Debug)]
pub struct HttpError {
    pub kind: HttpErrorKind,
    pub message: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<HttpError> for String {
    fn from(e: HttpError) -> String {
        e.message
    }
}

fn err(kind: HttpErrorKind, message: String) -> HttpError {
    HttpError { kind, message }
}

/// A client that never uses a proxy (CI proxy variables must not capture loopback traffic).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client with these options always builds")
}

/// POSTs `body` and reads the whole response within `timeout`.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
) -> Result<Exchange, HttpError> {
    let mut map = HeaderMap::new();
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| err(HttpErrorKind::Request, format!("bad header name {name}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| err(HttpErrorKind::Request, format!("bad value for header {name}")))?;
        map.insert(name, value);
    }
    let request = client.post(url).headers(map).body(body);
    send(request, url, timeout).await
}

/// Sends a prepared request and reads the response within `timeout`.
pub async fn send(request: reqwest::RequestBuilder, url: &str, timeout: Duration) -> Result<Exchange, HttpError> {
    let started = Instant::now();
    let work = async {
        let resp = request.send().await.map_err(|e| describe(&e, url))?;
        let status = resp.status().as_u16();
        let content_type = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (bytes, truncated) = read_bounded(resp)
            .await
            .map_err(|e| err(HttpErrorKind::Protocol, format!("reading the response from {url} failed: {e}")))?;
        Ok(Exchange {
            status,
            content_type,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            body_truncated: truncated,
            elapsed: started.elapsed(),
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(err(
            HttpErrorKind::Timeout,
            format!(
                "no complete response from {url} within {}s (hung, or a stream that never ends)",
                timeout.as_secs()
            ),
        )),
    }
}

async fn read_bounded(mut resp: reqwest::Response) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.without_url().to_string())? {
        let room = MAX_BODY_BYTES - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}

fn describe(e: &reqwest::Error, url: &str) -> HttpError {
    let inner = e.without_url_ref();
    if e.is_connect() {
        err(HttpErrorKind::Connect, format!("cannot connect to {url}: {inner}"))
    } else if e.is_timeout() {
        err(HttpErrorKind::Timeout, format!("request to {url} timed out"))
    } else {
        err(HttpErrorKind::Protocol, format!("request to {url} failed: {inner}"))
    }
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        use std::error::Error;
        let mut msg = String::new();
        let mut source = self.source();
        while let Some(s) = source {
            msg = s.to_string();
            source = s.source();
        }
        if msg.is_empty() {
            "connection failed".into()
        } else {
            msg
        }
    }
}
