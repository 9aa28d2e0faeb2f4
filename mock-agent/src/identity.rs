//! OAuth tokens the workspace emulator issued, and who they belong to.

use crate::config::ServicePrincipal;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Issued tokens are pruned once expired; never more than this many are held.
const MAX_LIVE_TOKENS: usize = 100_000;

/// Principals plus the tokens issued to them.
pub struct Identity {
    principals: Vec<ServicePrincipal>,
    tokens: Mutex<HashMap<String, Grant>>,
    /// Fingerprint of every token ever issued → principal index, so a journal entry (which
    /// holds only fingerprints) can be traced to the principal whose token it carried.
    issued_fingerprints: Mutex<HashMap<String, usize>>,
    ttl: Duration,
}

struct Grant {
    principal: usize,
    expires: Instant,
}

/// Why a client_credentials grant was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum GrantError {
    InvalidClient,
}

impl Identity {
    pub fn new(principals: Vec<ServicePrincipal>, ttl: Duration) -> Self {
        Self { principals, tokens: Mutex::new(HashMap::new()), issued_fingerprints: Mutex::new(HashMap::new()), ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a fresh token for a client id / secret pair.
    pub fn issue(&self, client_id: &str, client_secret: &str) -> Result<String, GrantError> {
        let index = self
            .principals
            .iter()
            .position(|p| p.application_id == client_id && p.client_secret == client_secret)
            .ok_or(GrantError::InvalidClient)?;
        let bytes: [u8; 24] = rand::rng().random();
        let token = format!("mock-oauth-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let mut tokens = self.tokens.lock().expect("token lock");
        let now = Instant::now();
        if tokens.len() >= MAX_LIVE_TOKENS {
            tokens.retain(|_, g| g.expires > now);
            if tokens.len() >= MAX_LIVE_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(token.clone(), Grant { principal: index, expires: now + self.ttl });
        let mut fps = self.issued_fingerprints.lock().expect("fingerprint lock");
        if fps.len() >= MAX_LIVE_TOKENS {
            fps.clear();
        }
        fps.insert(crate::fingerprint::fingerprint(&token), index);
        Ok(token)
    }

    /// The principal an issued token with this fingerprint (`fp:…`) belonged to.
    pub fn principal_for_fingerprint(&self, fingerprint: &str) -> Option<ServicePrincipal> {
        let fps = self.issued_fingerprints.lock().expect("fingerprint lock");
        fps.get(fingerprint).map(|&i| self.principals[i].clone())
    }

    /// The principal a still-valid token was issued to.
    pub fn principal_for_token(&self, token: &str) -> Option<ServicePrincipal> {
        let tokens = self.tokens.lock().expect("token lock");
        let grant = tokens.get(token)?;
        (grant.expires > Instant::now()).then(|| self.principals[grant.principal].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;

    #[test]
    fn issues_distinct_tokens_only_for_valid_credentials() {
        let cfg = MockConfig::default();
        let id = Identity::new(cfg.principals.clone(), Duration::from_secs(60));
        let sp = cfg.appkit_sp();
        let a = id.issue(&sp.application_id, &sp.client_secret).unwrap();
        let b = id.issue(&sp.application_id, &sp.client_secret).unwrap();
        assert_ne!(a, b);
        assert_eq!(id.principal_for_token(&a).unwrap().application_id, sp.application_id);
        assert_eq!(id.issue(&sp.application_id, "wrong"), Err(GrantError::InvalidClient));
        assert!(id.principal_for_token("mock-oauth-forged").is_none());
        let fp = crate::fingerprint::fingerprint(&a);
        assert_eq!(id.principal_for_fingerprint(&fp).unwrap().application_id, sp.application_id);
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let cfg = MockConfig::default();
        let id = Identity::new(cfg.principals.clone(), Duration::from_millis(0));
        let sp = cfg.appkit_sp();
        let t = id.issue(&sp.application_id, &sp.client_secret).unwrap();
        assert!(id.principal_for_token(&t).is_none());
    }
}
