//! One client connection from accept to close. Its first request's head is read under the
//! header deadline before anything else is spent on it; only then is a connection to the
//! handlers opened, and the bytes relayed both ways, every later request framed again under
//! deadlines of its own.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use super::refusal::Refusal;
use super::request_head::{self, Body, MAX_BODY_BYTES, MAX_HEAD_BYTES};

/// What every connection shares: where the handlers listen, the seal on the peer header, and
/// the deadlines.
#[derive(Debug)]
pub struct Relay {
    pub upstream: SocketAddr,
    pub seal: crate::secrets::SecretString,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Why the client's side of a connection ended.
enum End {
    /// The client closed (or half-closed) between requests.
    Closed,
    /// A request was refused or too slow; `Refusal` says which.
    Refused(Refusal),
    /// A read or write failed, or the client went away mid-request.
    Broken,
}

/// The bytes read from the client and not yet passed on, and the peer header line every
/// request of the connection gets.
struct Inbound<R> {
    reader: R,
    buf: Vec<u8>,
    peer_line: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Inbound<R> {
    /// Reads more, by `deadline`. `Ok(0)` is the end of the client's stream.
    async fn fill(&mut self, deadline: Instant, late: Refusal) -> Result<usize, End> {
        self.buf.reserve(8 * 1024);
        match timeout_at(deadline, self.reader.read_buf(&mut self.buf)).await {
            Err(_) => Err(End::Refused(late)),
            Ok(Err(_)) => Err(End::Broken),
            Ok(Ok(n)) => Ok(n),
        }
    }

    /// The next request's head, read by `deadline`; `None` when the client closed cleanly
    /// before starting one.
    async fn head(&mut self, deadline: Instant) -> Result<Option<request_head::Head>, End> {
        let mut searched = 0;
        loop {
            if searched == 0 {
                let blank = request_head::empty_lines(&self.buf);
                self.buf.drain(..blank);
            }
            if let Some(end) = request_head::end_of_head(&self.buf, searched) {
                let head = request_head::parse(&self.buf[..end], &self.peer_line);
                self.buf.drain(..end);
                return head.map(Some).map_err(End::Refused);
            }
            if self.buf.len() >= MAX_HEAD_BYTES {
                return Err(End::Refused(Refusal::HeadersTooLarge));
            }
            searched = self.buf.len();
            if self.fill(deadline, Refusal::TooSlow).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(End::Broken)
                };
            }
        }
    }

    /// Passes on exactly `n` bytes, by `deadline`.
    async fn pass<W: AsyncWrite + Unpin>(
        &mut self,
        to: &mut W,
        mut n: usize,
        deadline: Instant,
    ) -> Result<(), End> {
        while n > 0 {
            if self.buf.is_empty() && self.fill(deadline, Refusal::TooSlow).await? == 0 {
                return Err(End::Broken);
            }
            let take = n.min(self.buf.len());
            write_by(to, &self.buf[..take], deadline).await?;
            self.buf.drain(..take);
            n -= take;
        }
        Ok(())
    }

    /// Passes on one request body, by `deadline`.
    async fn body<W: AsyncWrite + Unpin>(
        &mut self,
        to: &mut W,
        body: Body,
        deadline: Instant,
    ) -> Result<(), End> {
        match body {
            Body::None => Ok(()),
            Body::Length(n) => self.pass(to, n as usize, deadline).await,
            Body::Chunked => self.chunks(to, deadline).await,
        }
    }

    /// A chunked body (RFC 9112 §7.1), passed on as sent once each chunk's size line parses,
    /// its total held to the same cap as a declared length.
    async fn chunks<W: AsyncWrite + Unpin>(
        &mut self,
        to: &mut W,
        deadline: Instant,
    ) -> Result<(), End> {
        let mut total: u64 = 0;
        loop {
            let (line, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Err(_) => return Err(End::Refused(Refusal::Malformed)),
                    Ok(httparse::Status::Partial) if self.buf.len() > 1024 => {
                        return Err(End::Refused(Refusal::Malformed))
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.fill(deadline, Refusal::TooSlow).await? == 0 {
                            return Err(End::Broken);
                        }
                    }
                }
            };
            total = total.saturating_add(size);
            if total > MAX_BODY_BYTES {
                return Err(End::Refused(Refusal::BodyTooLarge));
            }
            self.pass(to, line, deadline).await?;
            if size == 0 {
                return self.trailers(to, deadline).await;
            }
            // The chunk's data and the CRLF after it; the handlers' parser checks the CRLF.
            self.pass(to, size as usize + 2, deadline).await?;
        }
    }

    /// The trailer section after the last chunk: field lines, then an empty line.
    async fn trailers<W: AsyncWrite + Unpin>(
        &mut self,
        to: &mut W,
        deadline: Instant,
    ) -> Result<(), End> {
        let mut searched = 0;
        loop {
            let end = match self.buf.as_slice() {
                [b'\r', b'\n', ..] => Some(2),
                [b'\n', ..] => Some(1),
                [b'\r'] | [] => None,
                _ => request_head::end_of_head(&self.buf, searched),
            };
            if let Some(end) = end {
                return self.pass(to, end, deadline).await;
            }
            if self.buf.len() >= MAX_HEAD_BYTES {
                return Err(End::Refused(Refusal::HeadersTooLarge));
            }
            searched = self.buf.len();
            if self.fill(deadline, Refusal::TooSlow).await? == 0 {
                return Err(End::Broken);
            }
        }
    }
}

async fn write_by<W: AsyncWrite + Unpin>(
    to: &mut W,
    bytes: &[u8],
    deadline: Instant,
) -> Result<(), End> {
    match timeout_at(deadline, to.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Err(_) => Err(End::Refused(Refusal::TooSlow)),
        Ok(Err(_)) => Err(End::Broken),
    }
}

/// Milliseconds since `epoch` of the last byte moved either way.
struct Activity {
    epoch: Instant,
    last: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }
}

/// Serves one accepted connection until either side closes or a deadline passes.
pub async fn serve<S>(client: S, peer: SocketAddr, accepted: Instant, relay: Arc<Relay>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (reader, mut writer) = tokio::io::split(client);
    let mut inbound = Inbound {
        reader,
        buf: Vec::new(),
        peer_line: request_head::peer_line(relay.seal.expose(), peer),
    };
    // Nothing is spent on a connection (no connection to the handlers, no task beyond this
    // one) until its first head is in.
    let first = match inbound.head(accepted + relay.header_timeout).await {
        Ok(Some(head)) => head,
        Ok(None) | Err(End::Broken) | Err(End::Closed) => return,
        Err(End::Refused(refusal)) => return refuse(&mut writer, refusal).await,
    };
    let Ok(upstream) = TcpStream::connect(relay.upstream).await else {
        return refuse(&mut writer, Refusal::Busy).await;
    };
    let _ = upstream.set_nodelay(true);
    let (mut from_handlers, mut to_handlers) = upstream.into_split();
    let activity = Activity {
        epoch: accepted,
        last: AtomicU64::new(0),
    };
    activity.touch();

    let requests = async {
        let mut head = first;
        loop {
            let body_deadline = Instant::now() + relay.body_timeout;
            write_by(&mut to_handlers, &head.bytes, body_deadline).await?;
            inbound
                .body(&mut to_handlers, head.body, body_deadline)
                .await?;
            activity.touch();
            head = match next_head(&mut inbound, &activity, &relay).await? {
                Some(head) => head,
                None => {
                    let _ = to_handlers.shutdown().await;
                    return Err::<(), End>(End::Closed);
                }
            };
        }
    };
    let responses = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from_handlers.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            activity.touch();
            let sent = timeout(relay.idle_timeout, async {
                writer.write_all(&buf[..n]).await?;
                writer.flush().await
            });
            if !matches!(sent.await, Ok(Ok(()))) {
                crate::metrics::connection_refused("too_slow");
                break;
            }
            activity.touch();
        }
        let _ = timeout(Duration::from_secs(1), writer.shutdown()).await;
    };
    tokio::pin!(requests, responses);
    tokio::select! {
        end = &mut requests => {
            if let Err(End::Closed) = end {
                // The client is done sending; its last answers may still be on their way.
                let _ = timeout(relay.idle_timeout, responses).await;
            } else if let Err(End::Refused(refusal)) = end {
                // Answers to earlier requests may be mid-flight on this connection, so no
                // answer of the listener's own can be put between them: the connection closes.
                crate::metrics::connection_refused(reason(refusal));
            }
        }
        () = &mut responses => {}
    }
}

/// Waits for the first byte of the client's next request while the connection is not idle,
/// then reads its head under the header deadline.
async fn next_head<R: AsyncRead + Unpin>(
    inbound: &mut Inbound<R>,
    activity: &Activity,
    relay: &Relay,
) -> Result<Option<request_head::Head>, End> {
    loop {
        let blank = request_head::empty_lines(&inbound.buf);
        inbound.buf.drain(..blank);
        if !inbound.buf.is_empty() {
            break;
        }
        let idle_until = activity.last() + relay.idle_timeout;
        match inbound.fill(idle_until, Refusal::TooSlow).await {
            Ok(0) => return Ok(None),
            Ok(_) => activity.touch(),
            // Quiet this side, but answers went out meanwhile: wait on from the latest.
            Err(End::Refused(_)) if activity.last() + relay.idle_timeout > Instant::now() => {}
            Err(End::Refused(_)) => {
                crate::metrics::connection_refused("idle");
                return Err(End::Broken);
            }
            Err(other) => return Err(other),
        }
    }
    inbound.head(Instant::now() + relay.header_timeout).await
}

/// Writes the listener's own answer to a connection that has had no other, then closes.
async fn refuse<W: AsyncWrite + Unpin>(writer: &mut W, refusal: Refusal) {
    crate::metrics::connection_refused(reason(refusal));
    let _ = timeout(Duration::from_secs(1), async {
        writer.write_all(&refusal.response()).await?;
        writer.shutdown().await
    })
    .await;
}

fn reason(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Busy => "busy",
        Refusal::TooSlow => "too_slow",
        Refusal::HeadersTooLarge | Refusal::BodyTooLarge => "too_large",
        Refusal::Malformed | Refusal::AmbiguousLength | Refusal::UnknownCoding => "malformed",
    }
}
