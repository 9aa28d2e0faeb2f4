//! OAuth M2M: host metadata, OIDC discovery and the client_credentials token endpoint.

use crate::http_util::json_bytes;
use crate::identity::GrantError;
use crate::state::SharedState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::json;

fn base(state: &SharedState) -> String {
    state.workspace_url.get().cloned().unwrap_or_default()
}

/// `GET /.well-known/databricks-config` (the Python SDK needs it for M2M).
pub async fn host_metadata(State(state): State<SharedState>) -> Response {
    let body = json!({"oidc_endpoint": format!("{}/oidc", base(&state)), "workspace_id": state.config.workspace_id});
    json_bytes(StatusCode::OK, body.to_string())
}

/// `GET /oidc/.well-known/oauth-authorization-server`.
pub async fn discovery(State(state): State<SharedState>) -> Response {
    let b = base(&state);
    let body = json!({
        "issuer": format!("{b}/oidc"),
        "authorization_endpoint": format!("{b}/oidc/v1/authorize"),
        "token_endpoint": format!("{b}/oidc/v1/token"),
        "jwks_uri": format!("{b}/oidc/jwks.json"),
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "scopes_supported": ["all-apis", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]
    });
    json_bytes(StatusCode::OK, body.to_string())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_bytes(status, json!({"error": error, "error_description": description}).to_string())
}

/// `POST /oidc/v1/token`: client_credentials with Basic auth (or client_secret_post).
pub async fn token(State(state): State<SharedState>, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode_form(k), decode_form(v)))
        .collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        );
    }
    let credentials = basic_credentials(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let Some((client_id, client_secret)) = credentials else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed: no credentials");
    };
    match state.identity.issue(&client_id, &client_secret) {
        Ok(token) => {
            let body = json!({
                "access_token": token,
                "scope": field("scope").unwrap_or_else(|| "all-apis".into()),
                "token_type": "Bearer",
                "expires_in": state.identity.ttl().as_secs()
            });
            json_bytes(StatusCode::OK, body.to_string())
        }
        Err(GrantError::InvalidClient) => {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed")
        }
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte).
fn decode_form(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::decode_form;

    #[test]
    fn decodes_form_values_without_panicking_on_bad_escapes() {
        assert_eq!(decode_form("all-apis"), "all-apis");
        assert_eq!(decode_form("a%3Ab+c"), "a:b c");
        assert_eq!(decode_form("%"), "%");
        assert_eq!(decode_form("%4"), "%4");
        assert_eq!(decode_form("%zz"), "%zz");
    }
}
