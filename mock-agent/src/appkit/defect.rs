//! Named ways to break exactly one rule of the proxy contract.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// Never sets `x-app-user-email`: feedback is attributed to the service principal.
    NoUserEmail,
    /// Sends no `Authorization` upstream: the Apps front door answers 401.
    StripAuthorization,
    /// Does not forward `x-forwarded-access-token`.
    DropOboToken,
    /// Only understands `{"messages": …}`: `{"input": …}` callers are silently dropped.
    MessagesOnly,
    /// Joins the path twice: `POST /invocations/invocations`.
    DoubleInvocations,
    /// Reuses the first user's OBO token for everyone.
    CachedUserToken,
}

impl Defect {
    pub const ALL: [Defect; 6] = [
        Defect::NoUserEmail,
        Defect::StripAuthorization,
        Defect::DropOboToken,
        Defect::MessagesOnly,
        Defect::DoubleInvocations,
        Defect::CachedUserToken,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Defect::NoUserEmail => "no-user-email",
            Defect::StripAuthorization => "strip-authorization",
            Defect::DropOboToken => "drop-obo-token",
            Defect::MessagesOnly => "messages-only",
            Defect::DoubleInvocations => "double-invocations",
            Defect::CachedUserToken => "cached-user-token",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Defect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Defect::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| {
            let names: Vec<_> = Defect::ALL.iter().map(|d| d.name()).collect();
            format!("unknown defect {s:?}; known: {}", names.join(", "))
        })
    }
}
