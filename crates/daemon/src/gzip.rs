//! The gzip form of `/metrics`, as one gzip member (RFC 1952) built in two parts: the cached
//! page's part ([`GzipPage`]: the header and the page's deflate blocks, compressed once per
//! publish), then at each scrape the HTTP lines as the member's final deflate blocks (stored:
//! copied, not compressed) and its trailer ([`GzipPage::finish`]).
//!
//! One member, not two members one after the other: RFC 1952 allows several, and Go's
//! `compress/gzip` (Prometheus) and Python's `gzip` read them all, but curl's `--compressed`
//! (7.88) and Rust's `flate2::read::GzDecoder` stop after the first, which would drop the HTTP
//! lines without an error. The page's part ends with a sync flush (an empty stored block: the
//! stream is byte-aligned and no block is final), so the scrape's blocks continue the same
//! deflate stream; the trailer's CRC-32 continues the page's.

use axum::body::Bytes;
use flate2::{Compress, CompressError, Compression, Crc, FlushCompress, Status};

/// The deflate crate refused to compress (not expected with in-memory buffers).
#[derive(Debug, thiserror::Error)]
#[error("cannot gzip the metrics page: {0}")]
pub(crate) struct GzipError(#[from] CompressError);

/// The 10-byte gzip header: deflate, no flags, no modification time, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// The gzip member of one page, open for the scrape's lines.
#[derive(Debug)]
pub(crate) struct GzipPage {
    /// The header and the page's deflate blocks, none final, ending byte-aligned.
    head: Bytes,
    /// The page's CRC-32 and length, which the trailer continues.
    crc: Crc,
}

impl GzipPage {
    /// Compresses `page` at the default level: done once per publish, so the better ratio is
    /// worth the few milliseconds more than the fastest level would take.
    pub(crate) fn new(page: &[u8]) -> Result<GzipPage, GzipError> {
        let mut head = Vec::with_capacity(HEADER.len() + page.len() / 4 + 64);
        head.extend_from_slice(&HEADER);
        let mut deflate = Compress::new(Compression::default(), false);
        compress(&mut deflate, page, FlushCompress::Sync, &mut head)?;
        let mut crc = Crc::new();
        crc.update(page);
        Ok(GzipPage {
            head: Bytes::from(head),
            crc,
        })
    }

    /// The member's first part (shared, never copied).
    pub(crate) fn head(&self) -> Bytes {
        self.head.clone()
    }

    /// The member's rest after the page: `tail` as stored deflate blocks (RFC 1951 §3.2.4), the
    /// last one final, then the CRC-32 and length (modulo 2³²) of page and tail.
    ///
    /// Stored, not compressed: the HTTP lines are some 2 KiB, which a compressor would bring to
    /// about 0.6 KiB, but setting up a compressor's state (hundreds of KiB to clear) at every
    /// scrape cost more than all the rest of a gzip answer: in scrape_load, gzip scrapes ran at
    /// 0.79 of the identity rate with the lines compressed (fastest level), 1.57 stored.
    pub(crate) fn finish(&self, tail: &[u8]) -> Result<Bytes, GzipError> {
        let mut out = Vec::with_capacity(tail.len() + 5 * (tail.len() / STORED_MAX + 1) + 8);
        stored(tail, &mut out);
        let mut crc = Crc::new();
        crc.combine(&self.crc);
        crc.update(tail);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
        Ok(Bytes::from(out))
    }
}

/// The most bytes one stored block holds.
const STORED_MAX: usize = u16::MAX as usize;

/// `data` as stored blocks, the last one final (one empty final block for no data). Each starts
/// on a byte boundary, where the page's sync flush left the stream: a byte with the final bit
/// and block type 00, then the length and its complement, little-endian, then the bytes.
fn stored(data: &[u8], out: &mut Vec<u8>) {
    let blocks = data.len().div_ceil(STORED_MAX).max(1);
    for i in 0..blocks {
        let block = &data[(i * STORED_MAX).min(data.len())..((i + 1) * STORED_MAX).min(data.len())];
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.push(u8::from(i + 1 == blocks));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
}

/// Compresses all of `input` into `out` (raw deflate) and ends with `flush`: `Sync` leaves the
/// stream open and byte-aligned (`Finish` would end it with a final block).
fn compress(
    deflate: &mut Compress,
    input: &[u8],
    flush: FlushCompress,
    out: &mut Vec<u8>,
) -> Result<(), GzipError> {
    loop {
        let read = usize::try_from(deflate.total_in()).map_or(input.len(), |r| r.min(input.len()));
        out.reserve(64 + (input.len() - read) / 2);
        let status = deflate.compress_vec(&input[read..], out, flush)?;
        let all_read = usize::try_from(deflate.total_in()).is_ok_and(|r| r >= input.len());
        // Done when the stream ended (Finish), or all was read and the compressor stopped with
        // room left in `out`, so it had nothing more to write (Sync).
        let flushed =
            matches!(flush, FlushCompress::Sync) && all_read && out.len() < out.capacity();
        if status == Status::StreamEnd || flushed {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::{GzDecoder, MultiGzDecoder};

    use super::*;

    fn page() -> Vec<u8> {
        (0..2_000)
            .map(|i| format!("migration_spaces{{instance_id=\"{i}\",status=\"pending\"}} {i}\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn member(gz: &GzipPage, tail: &[u8]) -> Vec<u8> {
        [gz.head(), gz.finish(tail).unwrap()].concat()
    }

    /// Decodes the first gzip member only, as curl and `GzDecoder` do.
    fn first_member(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn the_member_decodes_to_exactly_the_page_then_the_tail() {
        let page = page();
        let gz = GzipPage::new(&page).unwrap();
        let tail = b"# TYPE migration_exporter_http_connections_open gauge\nmigration_exporter_http_connections_open 3\n";
        let bytes = member(&gz, tail);
        assert_eq!(first_member(&bytes), [page.as_slice(), tail].concat());
        let mut all = Vec::new();
        MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(
            all,
            [page.as_slice(), tail].concat(),
            "one member, nothing after it"
        );
        assert!(bytes.len() < page.len() / 5, "compressed: {}", bytes.len());
    }

    #[test]
    fn the_cached_part_takes_any_tail_and_an_empty_one() {
        let page = page();
        let gz = GzipPage::new(&page).unwrap();
        // Beyond one stored block's 65,535 bytes too.
        let long = page.repeat(2);
        for tail in [&b""[..], b"a 1\n", &page[..3_000], &long] {
            assert_eq!(
                first_member(&member(&gz, tail)),
                [page.as_slice(), tail].concat()
            );
        }
        let empty = GzipPage::new(b"").unwrap();
        assert_eq!(first_member(&member(&empty, b"b 2\n")), b"b 2\n");
    }

    #[test]
    fn a_wrong_trailer_is_refused_by_the_decoder() {
        // The check the decoders make, which the trailer must pass: a CRC of the tail alone fails.
        let gz = GzipPage::new(&page()).unwrap();
        let mut bytes = member(&gz, b"a 1\n");
        let n = bytes.len();
        bytes[n - 8] ^= 1;
        let mut out = Vec::new();
        assert!(
            GzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .is_err()
        );
    }
}
