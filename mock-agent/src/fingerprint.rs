//! Secrets never leave a mock or a report in clear: they are shown as fingerprints.

use sha2::{Digest, Sha256};

/// A short, stable fingerprint of a secret (`fp:` + 12 hex of its SHA-256).
/// Two equal secrets have equal fingerprints, so a journal can prove which token arrived
/// without ever storing it.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("fp:{hex}")
}

/// Fingerprints the credential of an `Authorization` header value, keeping the scheme
/// (`Bearer fp:…`, `Basic fp:…`) so a reader can still tell which kind arrived.
pub fn redact_authorization(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, credential)) => format!("{scheme} {}", fingerprint(credential.trim())),
        None => fingerprint(value),
    }
}

/// Headers whose values are secrets and are journaled only as fingerprints.
pub fn is_secret_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "authorization" | "x-forwarded-access-token" | "cookie" | "proxy-authorization"
    )
}

/// The value to journal or print for a header: secrets become fingerprints.
pub fn redact_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization") {
        redact_authorization(value)
    } else if is_secret_header(name) {
        fingerprint(value)
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_hides_the_secret() {
        let fp = fingerprint("tok-abc123");
        assert_eq!(fp, fingerprint("tok-abc123"));
        assert!(fp.starts_with("fp:") && fp.len() == 15);
        assert!(!fp.contains("abc123"));
        assert_ne!(fp, fingerprint("tok-abc124"));
    }

    #[test]
    fn authorization_keeps_its_scheme() {
        let v = redact_authorization("Bearer secret-token");
        assert_eq!(v, format!("Bearer {}", fingerprint("secret-token")));
        assert_eq!(redact_header("X-Forwarded-Access-Token", "t"), fingerprint("t"));
        assert_eq!(redact_header("x-forwarded-email", "a@b.c"), "a@b.c");
    }
}
