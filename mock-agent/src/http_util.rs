//! Small response helpers shared by the mock listeners.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// A JSON body with an exact byte layout (the caller serialised it).
pub fn json_bytes(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The standard Databricks REST error body `{"error_code": …, "message": …}`.
pub fn databricks_error(status: StatusCode, error_code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error_code": error_code, "message": message});
    json_bytes(status, body.to_string())
}

/// FastAPI's error body `{"detail": …}`.
pub fn detail(status: StatusCode, message: &str) -> Response {
    json_bytes(status, serde_json::json!({"detail": message}).to_string())
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The first value of a header as text (first value wins, as Starlette does).
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
