//! JSON exactly as Python's `json.dumps` writes it with default arguments: `", "` and `": "`
//! separators and `ensure_ascii=True`. The MLflow agent server frames every SSE event this
//! way, while its unary bodies are compact UTF-8 — byte-compatibility needs both.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};
use std::io::{self, Write};

struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        for ch in fragment.chars() {
            if ch.is_ascii() {
                w.write_all(&[ch as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        // Python escapes control characters as \u00XX, except the five short forms.
        let s: String = match escape {
            CharEscape::Quote => "\\\"".into(),
            CharEscape::ReverseSolidus => "\\\\".into(),
            CharEscape::Backspace => "\\b".into(),
            CharEscape::FormFeed => "\\f".into(),
            CharEscape::LineFeed => "\\n".into(),
            CharEscape::CarriageReturn => "\\r".into(),
            CharEscape::Tab => "\\t".into(),
            CharEscape::Solidus => "/".into(),
            CharEscape::AsciiControl(b) => format!("\\u{b:04x}"),
        };
        w.write_all(s.as_bytes())
    }
}

/// `json.dumps(value)` as Python 3 writes it.
pub fn dumps<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser).expect("serialising a JSON value cannot fail");
    String::from_utf8(out).expect("ensure_ascii output is ASCII")
}

/// FastAPI's `JSONResponse` body: compact separators, raw UTF-8.
pub fn compact<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("serialising a JSON value cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_spacing_and_ascii_escapes() {
        let v = json!({"type": "response.output_text.delta", "delta": "h\u{e9}llo \u{2713} \"q\" </x>"});
        assert_eq!(dumps(&v), r#"{"type": "response.output_text.delta", "delta": "h\u00e9llo \u2713 \"q\" </x>"}"#);
    }

    #[test]
    fn astral_characters_become_surrogate_pairs_and_controls_are_escaped() {
        assert_eq!(dumps(&json!("\u{1F600}")), r#""\ud83d\ude00""#);
        assert_eq!(dumps(&json!("a\u{1}b\n")), r#""a\u0001b\n""#);
        assert_eq!(dumps(&json!([1, [], {}, null, true])), "[1, [], {}, null, true]");
    }
}
