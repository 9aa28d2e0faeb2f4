//! Reading an `/invocations` body the way the MLflow agent server does: `json.loads` on the raw
//! bytes (Content-Type ignored), `stream` popped with Python truthiness.

use serde_json::{Map, Value};

/// What went wrong before the agent function ran, with the server's exact answer.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestError {
    /// 400 `{"detail":"Invalid JSON in request body: <python message>"}`.
    InvalidJson(String),
    /// Valid JSON that is not an object, or bytes that are not UTF-8: the server crashes into
    /// a plain-text 500.
    InternalServerError,
}

/// A parsed request: the body object without `stream`, and whether to stream.
#[derive(Debug)]
pub struct AgentRequest {
    pub body: Map<String, Value>,
    pub stream: bool,
}

pub fn parse(bytes: &[u8]) -> Result<AgentRequest, RequestError> {
    let text = std::str::from_utf8(bytes).map_err(|_| RequestError::InternalServerError)?;
    // json.loads on bytes detects a UTF-8 BOM and decodes past it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| RequestError::InvalidJson(python_json_error(text, &e)))?;
    let Value::Object(mut body) = value else {
        return Err(RequestError::InternalServerError);
    };
    let stream = body.remove("stream").is_some_and(|v| truthy(&v));
    Ok(AgentRequest { body, stream })
}

/// Python's truth value of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `json.JSONDecodeError` text for the common cases: `<msg>: line L column C (char N)`.
/// `char` counts code points from the start, as Python does.
fn python_json_error(text: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    // serde reports the column of the offending character (1-based, bytes); at EOF it points
    // past the end, where Python reports the position it expected a value at.
    let byte_pos = line_col_to_byte(text, line, column);
    let mut pos = floor_char_boundary(text, byte_pos.min(text.len()));
    let msg = match e.classify() {
        Category::Eof | Category::Syntax => python_message(text, pos, e),
        Category::Data | Category::Io => "Expecting value",
    };
    if msg == "Expecting value" && e.classify() == Category::Eof {
        // At end of input Python reports the position where the value should have started.
        pos = text.len();
    } else if msg == "Expecting value" {
        // Python points at the start of the bad token (`this` → char 0), serde inside it.
        while pos > 0 && text.as_bytes()[pos - 1].is_ascii_alphanumeric() {
            pos -= 1;
        }
    }
    let char_index = text[..floor_char_boundary(text, pos)].chars().count();
    let (py_line, py_col) = python_line_col(text, char_index);
    format!("{msg}: line {py_line} column {py_col} (char {char_index})")
}

fn python_message(text: &str, pos: usize, e: &serde_json::Error) -> &'static str {
    let rendered = e.to_string();
    if rendered.starts_with("trailing characters") {
        "Extra data"
    } else if rendered.starts_with("key must be a string") {
        "Expecting property name enclosed in double quotes"
    } else if rendered.starts_with("EOF while parsing a string") {
        "Unterminated string starting at"
    } else if rendered.starts_with("expected `:`") {
        "Expecting ':' delimiter"
    } else if rendered.starts_with("expected `,` or `}`") || rendered.starts_with("expected `,` or `]`") {
        "Expecting ',' delimiter"
    } else if rendered.starts_with("control character") {
        "Invalid control character at"
    } else {
        let _ = (text, pos);
        "Expecting value"
    }
}

fn line_col_to_byte(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += l.len() + 1;
    }
    text.len()
}

fn floor_char_boundary(text: &str, mut pos: usize) -> usize {
    while pos > 0 && !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

fn python_line_col(text: &str, char_index: usize) -> (usize, usize) {
    let before: Vec<char> = text.chars().take(char_index).collect();
    let line = before.iter().filter(|&&c| c == '\n').count() + 1;
    let col = match before.iter().rposition(|&c| c == '\n') {
        Some(nl) => char_index - nl,
        None => char_index + 1,
    };
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(RequestError::InvalidJson(m)) => m,
            other => panic!("expected invalid JSON, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_read_like_python_for_the_recorded_cases() {
        assert_eq!(err(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("this is not json"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("{\"input\":"), "Expecting value: line 1 column 10 (char 9)");
    }

    #[test]
    fn stream_uses_python_truthiness() {
        for (body, expected) in [
            (r#"{"stream":true}"#, true),
            (r#"{"stream":"false"}"#, true),
            (r#"{"stream":1}"#, true),
            (r#"{"stream":false}"#, false),
            (r#"{"stream":null}"#, false),
            (r#"{"stream":0}"#, false),
            (r#"{"stream":""}"#, false),
            (r#"{}"#, false),
        ] {
            let r = parse(body.as_bytes()).unwrap();
            assert_eq!(r.stream, expected, "{body}");
            assert!(!r.body.contains_key("stream"));
        }
    }

    #[test]
    fn non_objects_and_invalid_utf8_crash_like_the_real_server() {
        for body in ["[1,2]", "null", "\"hello\"", "3"] {
            assert_eq!(parse(body.as_bytes()).unwrap_err(), RequestError::InternalServerError, "{body}");
        }
        assert_eq!(parse(b"{\"input\":\"\xff\"}").unwrap_err(), RequestError::InternalServerError);
    }
}
