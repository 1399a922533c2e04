//! A tiny blocking HTTP/1.1 client for the workbook's own services and
//! load driver: one request per connection, loopback only. Enough to test
//! a service and time its answers without pulling in a client library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A response: status code, headers and body, and how long the round trip
/// took.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Name (as sent) and value (trimmed) of each header line.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

impl Response {
    /// The first header called `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method path` with an optional JSON body to `addr` and reads the
/// whole response. Refuses any address that is not loopback: the
/// workbook's load never leaves the machine.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: Option<&str>,
    timeout: Duration,
) -> std::io::Result<Response> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::other(format!(
            "{addr} is not a loopback address: the workbook only talks to 127.0.0.1"
        )));
    }
    let start = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = json.unwrap_or("");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    // The whole answer must arrive within `timeout`, however slowly it
    // drips, and its head (status line and headers) within HEAD_CAP bytes.
    let mut reader = BufReader::new(Deadline {
        stream,
        until: start + timeout,
    });
    let mut head = (&mut reader).take(HEAD_CAP);
    let mut status_line = String::new();
    head.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {status_line:?}")))?;
    let mut length = None;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        let n = head.read_line(&mut line)?;
        if head.limit() == 0 {
            return Err(std::io::Error::other(format!(
                "the response's head is longer than {HEAD_CAP} bytes"
            )));
        }
        if n == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_string(), value.trim().to_string()));
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<u64>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
            {
                return Err(std::io::Error::other(
                    "chunked responses are not supported by this small client",
                ));
            }
        }
    }
    let body = read_body(&mut reader, length, crate::profile::MAX_BYTES)?;
    Ok(Response {
        status,
        headers,
        body,
        elapsed: start.elapsed(),
    })
}

/// The most a response's status line and headers may take.
const HEAD_CAP: u64 = 64 * 1024;

/// A stream whose every read must finish by `until`.
struct Deadline {
    stream: TcpStream,
    until: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let late = || {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the response did not arrive in time",
            )
        };
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        self.stream.set_read_timeout(Some(left))?;
        // A socket's read timeout shows as WouldBlock on Unix.
        self.stream.read(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => late(),
            _ => e,
        })
    }
}

/// Reads what the server sends, up to what it announced and never more than
/// `cap` bytes: a wrong or huge Content-Length, or an endless body, cannot
/// make us allocate more than the cap.
fn read_body(reader: &mut impl Read, length: Option<u64>, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let want = length.unwrap_or(cap.saturating_add(1));
    if want > cap {
        reader.take(cap.saturating_add(1)).read_to_end(&mut body)?;
        if body.len() as u64 > cap {
            return Err(std::io::Error::other(format!(
                "the response is longer than {cap} bytes, the most labkit reads"
            )));
        }
    } else {
        reader.take(want).read_to_end(&mut body)?;
    }
    if let Some(n) = length
        && body.len() as u64 != n
    {
        return Err(std::io::Error::other(format!(
            "the response announced {n} bytes and sent {}",
            body.len()
        )));
    }
    Ok(body)
}

/// The `q`-quantile (0.0–1.0) of `samples`, nearest rank.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-connection server on a free loopback port that reads the
    /// request's head and then sends what `answer` writes.
    fn serve_once(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            answer(&mut stream);
        });
        addr
    }

    #[test]
    fn an_endless_head_is_refused() {
        let addr = serve_once(|s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Endless: ");
            let _ = s.write_all(&[b'a'; 100 * 1024]);
        });
        let err = request(addr, "GET", "/", None, Duration::from_secs(10)).unwrap_err();
        assert!(
            err.to_string().contains("head is longer than 65536 bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_dripping_answer_is_timed_out_as_a_whole() {
        // One byte every 20 ms never trips a per-read timeout of 300 ms; the
        // deadline for the whole answer does.
        let addr = serve_once(|s| {
            for _ in 0..500 {
                if s.write_all(b"H").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let started = Instant::now();
        let err = request(addr, "GET", "/", None, Duration::from_millis(300)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_body_is_read_up_to_the_cap_and_no_further() {
        // An endless body (no Content-Length) stops at the cap with an error
        // that says so; before, it was read until memory ran out.
        let err = read_body(&mut std::io::repeat(b'x'), None, 1000).unwrap_err();
        assert!(err.to_string().contains("longer than 1000 bytes"), "{err}");
        // So does a huge announced length.
        let err = read_body(&mut std::io::repeat(b'x'), Some(u64::MAX), 1000).unwrap_err();
        assert!(err.to_string().contains("longer than 1000 bytes"), "{err}");
        // A short body is read whole, and a body shorter than announced is named.
        assert_eq!(read_body(&mut &b"abc"[..], None, 1000).unwrap(), b"abc");
        assert_eq!(read_body(&mut &b"abc"[..], Some(3), 1000).unwrap(), b"abc");
        let err = read_body(&mut &b"abc"[..], Some(5), 1000).unwrap_err();
        assert!(
            err.to_string().contains("announced 5 bytes and sent 3"),
            "{err}"
        );
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&ms, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&ms, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn only_loopback_is_spoken_to() {
        let err = request(
            "192.0.2.1:80".parse().unwrap(),
            "GET",
            "/",
            None,
            Duration::from_millis(10),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a loopback address"), "{err}");
    }
}
