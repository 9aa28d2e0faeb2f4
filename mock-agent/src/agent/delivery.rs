//! Planned writes → a streaming HTTP body: one write per chunk (the stream pauses between
//! writes so hyper flushes each), delays, truncation and resets; the journal learns how the
//! body ended.

use crate::journal::Journal;
use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How the stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every write, then the chunked terminator.
    Complete,
    /// Only the first `n` writes, then a clean end (no `[DONE]`).
    TruncateAfter(usize),
    /// The first `n` writes, then the connection is dropped without a terminator.
    ResetAfter(usize),
}

pub struct Delivery {
    pub writes: Vec<Bytes>,
    pub chunk_delay: Duration,
    pub ending: Ending,
    pub content_type: &'static str,
    /// Held until the body ends (limits concurrent huge events).
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The client connection, so a reset can be a real TCP RST.
    pub connection: Option<u64>,
}

/// The streaming response; `journal_seq` identifies the request in the journal.
pub fn sse_response(d: Delivery, journal: Journal, journal_seq: Option<u64>) -> Response {
    let (limit, reset) = match d.ending {
        Ending::Complete => (d.writes.len(), false),
        Ending::TruncateAfter(n) => (n.min(d.writes.len()), false),
        Ending::ResetAfter(n) => (n.min(d.writes.len()), true),
    };
    let delay = d.chunk_delay;
    let (connection, reset_journal) = (d.connection, journal.clone());
    let writes = stream::iter(d.writes.into_iter().take(limit).enumerate()).then(move |(i, bytes)| async move {
        if i > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        } else {
            // A pause lets hyper flush the previous write as its own chunk.
            tokio::task::yield_now().await;
        }
        Ok::<Bytes, std::io::Error>(bytes)
    });
    let body: Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>> = if reset {
        Box::pin(writes.chain(stream::once(async move {
            // Let the client read what was sent, then abort: the socket closes with SO_LINGER 0,
            // which is a TCP RST, not a FIN.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(id) = connection {
                reset_journal.request_reset(id);
            }
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "mock fault: connection reset mid-stream"))
        })))
    } else {
        Box::pin(writes)
    };
    let observed =
        Observed { inner: body, journal, seq: journal_seq, finished: false, complete: !reset, _permit: d.permit };
    (StatusCode::OK, [(header::CONTENT_TYPE, d.content_type)], Body::from_stream(observed)).into_response()
}

/// Journals whether the body was sent in full or dropped early (the client went away).
struct Observed {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
    journal: Journal,
    seq: Option<u64>,
    finished: bool,
    complete: bool,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Stream for Observed {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(None) => {
                let complete = self.complete;
                self.finish(complete)
            }
            Poll::Ready(Some(Err(_))) => self.finish(false),
            _ => {}
        }
        polled
    }
}

impl Observed {
    fn finish(&mut self, complete: bool) {
        if !self.finished {
            self.finished = true;
            if let Some(seq) = self.seq {
                self.journal.body_ended(seq, complete);
            }
        }
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.finish(false);
    }
}
