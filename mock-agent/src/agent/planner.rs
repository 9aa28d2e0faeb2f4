//! Where the byte stream is cut into writes. Each write leaves as its own HTTP chunk.

use super::scenario::Chunking;
use std::ops::Range;

/// At most this many writes per response: a tiny chunk size on a huge stream is coarsened at
/// the end instead of allocating millions of pieces.
pub const MAX_WRITES: usize = 65_536;

/// The writes for `len` bytes, given where events end.
pub fn plan(bytes: &[u8], event_ends: &[usize], chunking: &Chunking) -> Vec<Range<usize>> {
    let len = bytes.len();
    let mut cuts: Vec<usize> = match chunking {
        Chunking::PerEvent => event_ends.to_vec(),
        Chunking::Coalesced => vec![],
        Chunking::Fixed { size } => {
            (1..).map(|i| i * (*size).max(1)).take_while(|&c| c < len).take(MAX_WRITES).collect()
        }
        Chunking::Random { seed, max } => {
            let mut rng = SplitMix64(*seed);
            let mut cuts = Vec::new();
            let mut at = 0usize;
            loop {
                at += 1 + (rng.next() % (*max).max(1) as u64) as usize;
                if at >= len || cuts.len() >= MAX_WRITES {
                    break cuts;
                }
                cuts.push(at);
            }
        }
        Chunking::SplitUtf8 => {
            let mut cuts = event_ends.to_vec();
            // Inside every multi-byte character: after its lead byte.
            cuts.extend(bytes.iter().enumerate().filter(|(_, &b)| b >= 0xC0).map(|(i, _)| i + 1));
            cuts
        }
        Chunking::SplitCrlf => {
            let mut cuts = event_ends.to_vec();
            cuts.extend(bytes.windows(2).enumerate().filter(|(_, w)| w == b"\r\n").map(|(i, _)| i + 1));
            cuts
        }
    };
    cuts.retain(|&c| c > 0 && c < len);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.truncate(MAX_WRITES - 1);
    let mut writes = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for c in cuts {
        writes.push(start..c);
        start = c;
    }
    if start < len || len == 0 {
        writes.push(start..len);
    }
    writes
}

/// A tiny, version-stable generator: the same seed cuts the same way in every release.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pieces<'a>(bytes: &'a [u8], writes: &[Range<usize>]) -> Vec<&'a [u8]> {
        writes.iter().map(|r| &bytes[r.clone()]).collect()
    }

    #[test]
    fn each_mode_cuts_where_it_says() {
        let b = "data: é\r\n\r\ndata: x\r\n\r\n".as_bytes();
        let ends = [12, b.len()];
        assert_eq!(plan(b, &ends, &Chunking::PerEvent), vec![0..12, 12..b.len()]);
        assert_eq!(plan(b, &ends, &Chunking::Coalesced), vec![0..b.len()]);
        assert!(plan(b, &ends, &Chunking::Fixed { size: 5 }).iter().all(|r| r.len() <= 5));
        let utf8 = plan(b, &ends, &Chunking::SplitUtf8);
        assert!(pieces(b, &utf8).iter().any(|p| std::str::from_utf8(p).is_err()), "a character is split");
        let crlf = plan(b, &ends, &Chunking::SplitCrlf);
        assert!(pieces(b, &crlf).iter().any(|p| p.ends_with(b"\r") && !p.ends_with(b"\r\n")));
        let r1 = plan(b, &ends, &Chunking::Random { seed: 7, max: 4 });
        assert_eq!(r1, plan(b, &ends, &Chunking::Random { seed: 7, max: 4 }), "seeded: reproducible");
    }

    #[test]
    fn tiny_chunks_on_a_huge_stream_stay_bounded() {
        let bytes = vec![b'x'; 4 * 1024 * 1024];
        for chunking in [Chunking::Fixed { size: 1 }, Chunking::Random { seed: 1, max: 1 }] {
            let writes = plan(&bytes, &[bytes.len()], &chunking);
            assert!(writes.len() <= MAX_WRITES, "{}", writes.len());
            assert_eq!(writes.last().unwrap().end, bytes.len(), "the tail is one last write");
        }
    }

    proptest! {
        #[test]
        fn writes_cover_the_stream_exactly_once(len in 0usize..300, seed: u64, max in 1usize..40, size in 1usize..50) {
            let bytes: Vec<u8> = (0..len).map(|i| if i % 7 == 3 { 0xC3 } else { b'a' }).collect();
            let ends: Vec<usize> = (0..len).step_by(17).skip(1).chain(std::iter::once(len)).collect();
            for chunking in [Chunking::PerEvent, Chunking::Coalesced, Chunking::Fixed { size }, Chunking::Random { seed, max }, Chunking::SplitUtf8, Chunking::SplitCrlf] {
                let writes = plan(&bytes, &ends, &chunking);
                let joined: Vec<u8> = writes.iter().flat_map(|r| bytes[r.clone()].to_vec()).collect();
                prop_assert_eq!(&joined, &bytes);
                prop_assert!(writes.iter().all(|r| !r.is_empty() || len == 0));
            }
        }
    }
}
