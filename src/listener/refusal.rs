//! The answers the listening socket gives by itself, before a request reaches a handler: each
//! a complete HTTP/1.1 response with the JSON error body the API uses everywhere, and
//! `Connection: close`, because after any of them the connection is closed.

/// A request or connection the listener will not pass on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request line or headers are not HTTP/1.x (RFC 9112 §2.2, §3).
    Malformed,
    /// The body's length cannot be told safely (RFC 9112 §6.3): both `Content-Length` and
    /// `Transfer-Encoding`, conflicting lengths, or a coding other than `chunked` last.
    AmbiguousLength,
    /// A transfer coding other than `chunked` (RFC 9112 §6.1).
    UnknownCoding,
    /// Headers larger than the listener reads (RFC 6585 §5).
    HeadersTooLarge,
    /// A declared body larger than any endpoint accepts (RFC 9110 §15.5.14).
    BodyTooLarge,
    /// The headers did not arrive in time (RFC 9110 §15.5.9).
    TooSlow,
    /// Too many connections open, from everyone or from this address.
    Busy,
}

impl Refusal {
    /// The complete response, ready to write.
    pub fn response(self) -> Vec<u8> {
        let (status, error, description) = match self {
            Refusal::Malformed => (
                "400 Bad Request",
                "invalid_request",
                "the request is not valid HTTP/1.1",
            ),
            Refusal::AmbiguousLength => (
                "400 Bad Request",
                "invalid_request",
                "the request body's length is ambiguous",
            ),
            Refusal::UnknownCoding => (
                "501 Not Implemented",
                "invalid_request",
                "only the chunked transfer coding is understood",
            ),
            Refusal::HeadersTooLarge => (
                "431 Request Header Fields Too Large",
                "invalid_request",
                "the request headers are too large",
            ),
            Refusal::BodyTooLarge => (
                "413 Content Too Large",
                "invalid_request",
                "the request body is too large",
            ),
            Refusal::TooSlow => (
                "408 Request Timeout",
                "invalid_request",
                "the request was not received in time",
            ),
            Refusal::Busy => (
                "503 Service Unavailable",
                "temporarily_unavailable",
                "too many open connections; retry shortly",
            ),
        };
        let body = format!(r#"{{"error":"{error}","error_description":"{description}"}}"#);
        let retry_after = if self == Refusal::Busy {
            "Retry-After: 1\r\n"
        } else {
            ""
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\n{retry_after}Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}
