//! ResponsesAgent request validation with pydantic 2.14's error text, for the shapes the
//! recordings cover (missing `input`, `input` not a list, an invalid role).

use serde_json::{Map, Value};

const PYDANTIC_DOCS: &str = "https://errors.pydantic.dev/2.14/v";
const VALID_ROLES: [&str; 4] = ["user", "assistant", "system", "developer"];

/// One pydantic error line group.
struct PydanticError {
    loc: String,
    msg: String,
    kind: &'static str,
    input: Value,
}

/// `None` when the request is valid; else the 400 detail text.
pub fn validate_request(body: &Map<String, Value>) -> Option<String> {
    let whole = Value::Object(body.clone());
    let mut errors = Vec::new();
    match body.get("input") {
        None => errors.push(PydanticError {
            loc: "input".into(),
            msg: "Field required".into(),
            kind: "missing",
            input: whole,
        }),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                errors.extend(item_errors(i, item));
            }
        }
        Some(other) => errors.push(PydanticError {
            loc: "input".into(),
            msg: "Input should be a valid list".into(),
            kind: "list_type",
            input: other.clone(),
        }),
    }
    if errors.is_empty() {
        return None;
    }
    Some(format!(
        "Invalid parameters for ResponsesAgent: Invalid data for ResponsesAgentRequest: {}",
        render("ResponsesAgentRequest", &errors)
    ))
}

/// The union `Message | OutputItem`: an item with a `type` is an output item; a message needs
/// a valid role.
fn item_errors(i: usize, item: &Value) -> Vec<PydanticError> {
    let Some(obj) = item.as_object() else {
        return vec![PydanticError {
            loc: format!("input.{i}"),
            msg: "Input should be a valid dictionary or instance of Message".into(),
            kind: "model_type",
            input: item.clone(),
        }];
    };
    if obj.contains_key("type") && !obj.contains_key("role") {
        return vec![];
    }
    let role = obj.get("role").and_then(Value::as_str).unwrap_or("");
    if VALID_ROLES.contains(&role) {
        return vec![];
    }
    let shown_role = obj
        .get("role")
        .map(|r| r.as_str().map(str::to_string).unwrap_or_else(|| pyrepr(r)))
        .unwrap_or_else(|| "None".into());
    let mut errors = vec![PydanticError {
        loc: format!("input.{i}.function-after[check_role(), function-after[check_content(), function-after[check_status(), Message]]]"),
        msg: format!("Value error, Invalid role: {shown_role}. Must be 'user', 'assistant', 'system', or 'developer'."),
        kind: "value_error",
        input: item.clone(),
    }];
    if !obj.contains_key("type") {
        errors.push(PydanticError {
            loc: format!("input.{i}.function-after[check_type(), OutputItem].type"),
            msg: "Field required".into(),
            kind: "missing",
            input: item.clone(),
        });
    }
    errors
}

/// The validator's error for a stream event without `delta` (the recorded `badevent`).
pub fn missing_delta_error(event: &Value) -> String {
    let e = PydanticError { loc: "delta".into(), msg: "Field required".into(), kind: "missing", input: event.clone() };
    format!("Invalid data for ResponsesAgentStreamEvent: {}", render("ResponsesAgentStreamEvent", &[e]))
}

fn render(model: &str, errors: &[PydanticError]) -> String {
    let count = if errors.len() == 1 {
        "1 validation error".to_string()
    } else {
        format!("{} validation errors", errors.len())
    };
    let mut out = format!("{count} for {model}");
    for e in errors {
        out.push_str(&format!(
            "\n{}\n  {} [type={}, input_value={}, input_type={}]\n    For further information visit {PYDANTIC_DOCS}/{}",
            e.loc,
            e.msg,
            e.kind,
            truncate_repr(&pyrepr(&e.input)),
            py_type_name(&e.input),
            e.kind
        ));
    }
    out
}

/// pydantic-core shortens an input repr longer than 50 characters to its first 25 and last
/// 24 characters around `...`.
fn truncate_repr(repr: &str) -> String {
    let chars: Vec<char> = repr.chars().collect();
    if chars.len() <= 50 {
        return repr.to_string();
    }
    let head: String = chars[..25].iter().collect();
    let tail: String = chars[chars.len() - 24..].iter().collect();
    format!("{head}...{tail}")
}

fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `repr()` of the value `json.loads` produced.
pub fn pyrepr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_str(s),
        Value::Array(items) => format!("[{}]", items.iter().map(pyrepr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", py_str(k), pyrepr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn py_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(body: &str) -> Option<String> {
        validate_request(serde_json::from_str::<Value>(body).unwrap().as_object().unwrap())
    }

    #[test]
    fn recorded_validation_errors_are_reproduced() {
        assert_eq!(
            detail(r#"{"messages":[{"role":"user","content":"hello"}]}"#).unwrap(),
            "Invalid parameters for ResponsesAgent: Invalid data for ResponsesAgentRequest: 1 validation error for ResponsesAgentRequest\ninput\n  Field required [type=missing, input_value={'messages': [{'role': 'u...', 'content': 'hello'}]}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/missing"
        );
        assert!(detail(r#"{"input":"hello"}"#)
            .unwrap()
            .contains("Input should be a valid list [type=list_type, input_value='hello', input_type=str]"));
        let two = detail(r#"{"input":[{"role":"bogus","content":"x"}]}"#).unwrap();
        assert!(two.contains("2 validation errors") && two.contains("Invalid role: bogus."), "{two}");
        assert!(detail(r#"{"input":[]}"#).is_none());
        assert!(
            detail(r#"{"input":[{"role":"user","content":[{"type":"input_text","text":"x"}]}],"model":"m"}"#).is_none()
        );
    }

    #[test]
    fn python_repr_rules() {
        assert_eq!(
            pyrepr(&serde_json::json!({"a": [1, 2.0, null, true], "b": "it's"})),
            r#"{'a': [1, 2.0, None, True], 'b': "it's"}"#
        );
        assert_eq!(pyrepr(&serde_json::json!("a\nb'\"")), r#"'a\nb\'"'"#);
        assert_eq!(truncate_repr(&"x".repeat(50)), "x".repeat(50));
        assert_eq!(truncate_repr(&"y".repeat(51)).len(), 52);
    }
}
