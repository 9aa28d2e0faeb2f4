//! SSE events → the exact bytes on the wire, with the framing variants proxies must survive.

use super::render::SseEvent;
use super::scenario::Framing;

/// The byte stream and the offset where each event ends.
pub struct Framed {
    pub bytes: Vec<u8>,
    pub event_ends: Vec<usize>,
}

pub fn frame(events: &[SseEvent], f: &Framing) -> Framed {
    let eol = f.line_ending.as_str();
    let data_prefix = if f.data_space { "data: " } else { "data:" };
    let mut bytes = Vec::new();
    let mut event_ends = Vec::with_capacity(events.len());
    if f.bom {
        bytes.extend_from_slice("\u{feff}".as_bytes());
    }
    for e in events {
        if f.comments {
            bytes.extend_from_slice(format!(": keep-alive{eol}").as_bytes());
        }
        if let Some(name) = &e.event {
            let prefix = if f.data_space { "event: " } else { "event:" };
            bytes.extend_from_slice(format!("{prefix}{name}{eol}").as_bytes());
        }
        for line in data_lines(&e.data, f.multiline_data) {
            bytes.extend_from_slice(data_prefix.as_bytes());
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(eol.as_bytes());
        }
        bytes.extend_from_slice(eol.as_bytes());
        event_ends.push(bytes.len());
    }
    Framed { bytes, event_ends }
}

/// The data split into lines: pretty-printed JSON when asked (the same JSON once a client joins
/// the lines with `\n`), else one line.
fn data_lines(data: &str, multiline: bool) -> Vec<String> {
    if multiline {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(data) {
            if v.is_object() || v.is_array() {
                let pretty = serde_json::to_string_pretty(&v).expect("a JSON value serialises");
                return pretty.lines().map(str::to_string).collect();
            }
        }
    }
    vec![data.to_string()]
}

/// Puts invalid UTF-8 (`0xFF 0xFE`) inside the first text delta's string.
pub fn inject_invalid_utf8(bytes: &mut Vec<u8>) {
    for marker in [&b"\"delta\": \""[..], &b"\"delta\":\""[..], &b"\"content\": \""[..], &b"\"content\":\""[..]] {
        if let Some(pos) = bytes.windows(marker.len()).position(|w| w == marker) {
            let at = pos + marker.len();
            bytes.splice(at..at, [0xFF, 0xFE]);
            return;
        }
    }
    bytes.splice(0..0, [0xFF, 0xFE]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::scenario::LineEnding;

    fn ev(data: &str) -> SseEvent {
        SseEvent { event: None, data: data.into() }
    }

    #[test]
    fn default_framing_is_the_mlflow_servers() {
        let f = frame(&[ev("{\"a\": 1}"), ev("[DONE]")], &Framing::default());
        assert_eq!(f.bytes, b"data: {\"a\": 1}\n\ndata: [DONE]\n\n");
        assert_eq!(f.event_ends, vec![16, 30]);
    }

    #[test]
    fn variants_change_only_the_framing() {
        let framing = Framing {
            line_ending: LineEnding::Crlf,
            data_space: false,
            comments: true,
            bom: true,
            multiline_data: true,
        };
        let f = frame(&[SseEvent { event: Some("x".into()), data: "{\"a\":1,\"b\":2}".into() }], &framing);
        let text = String::from_utf8(f.bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}: keep-alive\r\nevent:x\r\ndata:{\r\ndata:  \"a\": 1,\r\ndata:  \"b\": 2\r\ndata:}\r\n\r\n"
        );
        let cr = frame(&[ev("[DONE]")], &Framing { line_ending: LineEnding::Cr, ..Framing::default() });
        assert_eq!(cr.bytes, b"data: [DONE]\r\r");
    }

    #[test]
    fn invalid_utf8_lands_inside_the_first_delta() {
        let mut b = b"data: {\"delta\": \"hi\"}\n\n".to_vec();
        inject_invalid_utf8(&mut b);
        assert!(std::str::from_utf8(&b).is_err());
        assert_eq!(&b[..19], b"data: {\"delta\": \"\xff\xfe");
    }
}
