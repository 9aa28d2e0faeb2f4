//! MLflow trace ids in their client forms and the conversion to the bare id that the
//! assessments backend stores (mlflow `parse_trace_id_v4` + `removeprefix("tr-")`).

use rand::Rng;
use std::fmt;

/// Where traces are stored, which decides the client form of a trace id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceForm {
    /// Experiment / OSS store: `tr-<32 hex>`.
    Experiment,
    /// Unity Catalog table prefix: `trace:/<catalog>.<schema>.<prefix>/<32 hex>`.
    UcTablePrefix(TracingTable),
}

/// `<catalog>.<schema>.<prefix>`: the value of `MLFLOW_TRACING_TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracingTable {
    pub catalog: String,
    pub schema: String,
    pub prefix: String,
}

impl TracingTable {
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let valid = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match parts.as_slice() {
            [c, s, p] if valid(c) && valid(s) && valid(p) => {
                Ok(Self { catalog: c.to_string(), schema: s.to_string(), prefix: p.to_string() })
            }
            _ => Err(format!(
                "tracing table {s:?} is not <catalog>.<schema>.<prefix> (three parts of letters, digits and _)"
            )),
        }
    }

    /// The emulated assessments table, `<catalog>.<schema>.<prefix>_assessments`.
    pub fn assessments_table(&self) -> String {
        format!("{}.{}.{}_assessments", self.catalog, self.schema, self.prefix)
    }
}

impl fmt::Display for TracingTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.catalog, self.schema, self.prefix)
    }
}

/// A fresh random OTel trace id: 32 lower-case hex digits.
pub fn new_bare_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The client form of `bare` for this storage.
pub fn client_form(form: &TraceForm, bare: &str) -> String {
    match form {
        TraceForm::Experiment => format!("tr-{bare}"),
        TraceForm::UcTablePrefix(t) => format!("trace:/{t}/{bare}"),
    }
}

/// A client trace id taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedTraceId {
    /// `Some("cat.schema.prefix")` for the `trace:/` form.
    pub location: Option<String>,
    /// The 32-hex OTel id the assessments table is keyed by.
    pub bare: String,
}

/// Why a trace id could not be converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraceIdError {
    #[error("trace id {0:?} has the trace:/ prefix but not the form trace:/<location>/<id>")]
    MalformedV4(String),
    #[error("trace id {0:?} does not end in 32 lower-case hex digits (the OTel trace id)")]
    NotHex(String),
}

/// Client form → bare id, as MLflow does it: `parse_trace_id_v4(tid)[1].removeprefix("tr-")`.
pub fn parse(trace_id: &str) -> Result<ParsedTraceId, TraceIdError> {
    let (location, id) = match trace_id.strip_prefix("trace:/") {
        Some(rest) => match rest.split('/').collect::<Vec<_>>().as_slice() {
            [loc, id] if !loc.is_empty() && !id.is_empty() => (Some(loc.to_string()), *id),
            _ => return Err(TraceIdError::MalformedV4(trace_id.to_string())),
        },
        None => (None, trace_id),
    };
    let bare = id.strip_prefix("tr-").unwrap_or(id);
    let is_hex = bare.len() == 32 && bare.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !is_hex {
        return Err(TraceIdError::NotHex(trace_id.to_string()));
    }
    Ok(ParsedTraceId { location, bare: bare.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0af7651916cd43dd8448eb211c80319c";

    #[test]
    fn converts_both_client_forms_to_the_bare_id() {
        assert_eq!(parse(&format!("tr-{HEX}")).unwrap(), ParsedTraceId { location: None, bare: HEX.into() });
        let v4 = parse(&format!("trace:/main.agents.my_app/{HEX}")).unwrap();
        assert_eq!(v4.location.as_deref(), Some("main.agents.my_app"));
        assert_eq!(v4.bare, HEX);
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!(matches!(parse("trace:/main.agents"), Err(TraceIdError::MalformedV4(_))));
        assert!(matches!(parse(&format!("trace://{HEX}")), Err(TraceIdError::MalformedV4(_))));
        assert!(matches!(parse("MLFLOW_NO_OP_SPAN_TRACE_ID"), Err(TraceIdError::NotHex(_))));
        assert!(matches!(parse("tr-ABC"), Err(TraceIdError::NotHex(_))));
    }

    #[test]
    fn client_form_round_trips() {
        let t = TracingTable::parse("main.agents.hopcheck").unwrap();
        let id = client_form(&TraceForm::UcTablePrefix(t.clone()), HEX);
        assert_eq!(id, format!("trace:/main.agents.hopcheck/{HEX}"));
        assert_eq!(parse(&id).unwrap().bare, HEX);
        assert_eq!(t.assessments_table(), "main.agents.hopcheck_assessments");
        assert!(TracingTable::parse("main.agents").is_err());
        assert!(TracingTable::parse("a.b.c;drop").is_err());
    }
}
