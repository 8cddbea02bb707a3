//! One request's head as the listener needs it: where it ends, how its body is framed
//! (RFC 9112 §6), and the head rewritten to tell the handlers which socket it came from.

use std::net::SocketAddr;

use super::refusal::Refusal;

/// The most header bytes one request may send (about what common proxies allow).
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// No endpoint takes a body near this; the handlers' own limits are lower still.
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;
const MAX_HEADERS: usize = 100;

/// The header the listener adds to every request it passes on, naming the client's socket
/// address under the process's seal. A copy sent by a client is dropped.
pub const PEER_HEADER: &str = "portcullis-peer";

/// How the body after a head is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    Length(u64),
    Chunked,
}

/// A complete head, rewritten for the handlers, and how its body is framed.
#[derive(Debug)]
pub struct Head {
    pub bytes: Vec<u8>,
    pub body: Body,
}

/// Leading empty lines a client may send between requests (RFC 9112 §2.2): how many bytes.
pub fn empty_lines(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Where the head at the start of `buf` ends (just past its empty line), given that the first
/// `searched` bytes held no end. Lines may end in CRLF or a bare LF, as httparse accepts both.
pub fn end_of_head(buf: &[u8], searched: usize) -> Option<usize> {
    let mut from = searched.saturating_sub(2);
    while let Some(offset) = memchr::memchr(b'\n', &buf[from..]) {
        let at = from + offset;
        match (buf.get(at + 1), buf.get(at + 2)) {
            (Some(b'\n'), _) => return Some(at + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(at + 3),
            _ => from = at + 1,
        }
    }
    None
}

/// The peer header line for one connection, made once and added to each of its requests.
pub fn peer_line(seal: &str, peer: SocketAddr) -> Vec<u8> {
    format!("{PEER_HEADER}: {seal} {peer}\r\n").into_bytes()
}

/// Parses the complete head `raw` and rewrites it with the connection's `peer_line`.
pub fn parse(raw: &[u8], peer_line: &[u8]) -> Result<Head, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::HeadersTooLarge),
        Ok(httparse::Status::Partial) | Err(_) => return Err(Refusal::Malformed),
    }
    let http_1_0 = request.version == Some(0);
    let body = framing(request.headers, http_1_0)?;

    let line_end = memchr::memchr(b'\n', raw).map_or(raw.len(), |at| at + 1);
    let mut bytes = Vec::with_capacity(raw.len() + peer_line.len());
    bytes.extend_from_slice(&raw[..line_end]);
    bytes.extend_from_slice(peer_line);
    let forged = request
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case(PEER_HEADER));
    if forged {
        for header in request
            .headers
            .iter()
            .filter(|h| !h.name.eq_ignore_ascii_case(PEER_HEADER))
        {
            bytes.extend_from_slice(header.name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(header.value);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
    } else {
        bytes.extend_from_slice(&raw[line_end..]);
    }
    Ok(Head { bytes, body })
}

/// RFC 9112 §6.1–§6.3, read strictly: anything a second parser could frame differently
/// (the root of request smuggling) is refused rather than guessed.
fn framing(headers: &[httparse::Header<'_>], http_1_0: bool) -> Result<Body, Refusal> {
    let mut length: Option<u64> = None;
    let mut codings: Vec<String> = Vec::new();
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            for value in list(header.value)? {
                let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.parse::<u64>().ok())
                    .flatten()
                    .ok_or(Refusal::AmbiguousLength)?;
                if length.is_some_and(|seen| seen != parsed) {
                    return Err(Refusal::AmbiguousLength);
                }
                length = Some(parsed);
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            codings.extend(list(header.value)?.map(str::to_ascii_lowercase));
        }
    }
    if codings.is_empty() {
        return match length {
            Some(n) if n > MAX_BODY_BYTES => Err(Refusal::BodyTooLarge),
            Some(0) | None => Ok(Body::None),
            Some(n) => Ok(Body::Length(n)),
        };
    }
    // §6.1: an HTTP/1.0 message with Transfer-Encoding is faulty; §6.3 ¶3: with a length too.
    if http_1_0 || length.is_some() || codings.last().map(String::as_str) != Some("chunked") {
        return Err(Refusal::AmbiguousLength);
    }
    if codings.len() > 1 {
        return Err(Refusal::UnknownCoding);
    }
    Ok(Body::Chunked)
}

/// The comma-separated members of a header value (RFC 9110 §5.6.1).
fn list(value: &[u8]) -> Result<impl Iterator<Item = &str>, Refusal> {
    let text = std::str::from_utf8(value).map_err(|_| Refusal::Malformed)?;
    Ok(text.split(',').map(str::trim).filter(|m| !m.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::{end_of_head, parse, Body, PEER_HEADER};
    use crate::listener::refusal::Refusal;

    fn head(raw: &str) -> Result<super::Head, Refusal> {
        let line = super::peer_line("seal", "192.0.2.1:4000".parse().unwrap());
        parse(raw.as_bytes(), &line)
    }

    #[test]
    fn heads_end_at_the_first_empty_line() {
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET";
        assert_eq!(end_of_head(raw, 0), Some(27));
        assert_eq!(end_of_head(b"GET / HTTP/1.1\nHost: a\n\n", 0), Some(24));
        let partial = b"GET / HTTP/1.1\r\nHost: a\r\n\r";
        assert_eq!(end_of_head(partial, 0), None);
        let mut more = partial.to_vec();
        more.push(b'\n');
        assert_eq!(end_of_head(&more, partial.len()), Some(27));
    }

    #[test]
    fn bodies_are_framed_strictly() {
        let get = head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(get.body, Body::None);
        let post = head("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n").unwrap();
        assert_eq!(post.body, Body::Length(12));
        let same = head("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n").unwrap();
        assert_eq!(same.body, Body::Length(3));
        let chunked = head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n").unwrap();
        assert_eq!(chunked.body, Body::Chunked);
        for (raw, refusal) in [
            (
                "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                Refusal::AmbiguousLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
                Refusal::AmbiguousLength,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::AmbiguousLength,
            ),
            (
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::AmbiguousLength,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                Refusal::AmbiguousLength,
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Refusal::UnknownCoding,
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
                Refusal::BodyTooLarge,
            ),
            ("PRI * HTTP/2.0\r\n\r\n", Refusal::Malformed),
        ] {
            assert_eq!(head(raw).unwrap_err(), refusal, "{raw}");
        }
    }

    #[test]
    fn the_peer_header_is_the_listeners_own() {
        let plain = head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let expected =
            format!("GET / HTTP/1.1\r\n{PEER_HEADER}: seal 192.0.2.1:4000\r\nHost: a\r\n\r\n");
        assert_eq!(String::from_utf8(plain.bytes).unwrap(), expected);
        let forged = head("GET / HTTP/1.1\r\nPortcullis-Peer: x 10.0.0.1:1\r\nHost: a\r\n\r\n");
        assert_eq!(String::from_utf8(forged.unwrap().bytes).unwrap(), expected);
    }
}
