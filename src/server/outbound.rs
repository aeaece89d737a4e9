//! Every HTTP request Skymeet makes to the ATProto network — PLC, PDSes, authorization servers,
//! handle hosts — goes through [`Outbound`]:
//!
//! - **timeouts** on connecting and on the whole request;
//! - **retries** with exponential backoff and jitter for transient failures: a connection that
//!   could not be made (nothing was sent, so any request may be repeated), and for idempotent
//!   requests also any other failure to get an answer (a timeout, a kept-alive connection closed
//!   under the request) or a 502/503/504;
//! - idle connections kept for at most 55 s, less than servers keep them (`POOL_IDLE_TIMEOUT`);
//! - a **circuit breaker per host**: after repeated failures a host is skipped for a while, so a
//!   dead PDS fails fast instead of stalling every request that touches it;
//! - outside the local development network, an **SSRF guard**: addresses taken from user input or
//!   DID documents may not be private, loopback or link-local. Configured services (the PLC
//!   directory, a handle-resolution service) are trusted by host and port.

use crate::server::metrics;
use atrium_api::xrpc::{
    http::{Method, Request, Response, StatusCode},
    HttpClient,
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};
use url::Url;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an idle connection is kept for the next request to the same server: shorter than the
/// PDS's own keep-alive (90 s, as long as reqwest's default) and common proxies' (60 s and up), so
/// a request is not sent on a connection the server is closing at that moment. (Servers that close
/// sooner, such as Node's default of 5 s, are covered by repeating the requests that may be.)
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(55);
const MAX_ATTEMPTS: u32 = 3;
const RETRY_BASE: Duration = Duration::from_millis(100);
/// Consecutive failures that open a host's circuit.
const BREAKER_THRESHOLD: u32 = 5;
const MAX_REDIRECTS: usize = 5;
/// The largest answer read from any server (a page of 100 records is far smaller; a whole repo
/// is never fetched in one answer).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Part of [`OutboundError::PrivateAddress`]'s message: libraries that wrap our error keep only
/// its text, so [`refused_private`] recognises it by this.
const NOT_PUBLIC: &str = "not a public address";

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refusing to connect to {0}: not a public address")]
    PrivateAddress(String),
    #[error("{0} is failing; not trying again for a while (circuit open)")]
    CircuitOpen(String),
    #[error("the request cannot be sent: {0}")]
    BadRequest(String),
    #[error("{host} answered with more than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// Which addresses may be reached.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Allow private, loopback and link-local addresses everywhere (the local network).
    pub allow_private: bool,
    /// `host:port` pairs trusted whatever they resolve to: the configured services.
    pub trusted: HashSet<(String, u16)>,
}

impl AddressPolicy {
    pub fn trust(mut self, url: &Url) -> Self {
        if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
            self.trusted.insert((host.to_owned(), port));
        }
        self
    }

    fn is_trusted(&self, url: &Url) -> bool {
        self.allow_private
            || matches!((url.host_str(), url.port_or_known_default()),
                (Some(host), Some(port)) if self.trusted.contains(&(host.to_owned(), port)))
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (carrier-grade NAT), unspecified, documentation, multicast or broadcast — for IPv6 also not
/// unique-local, and IPv4-mapped addresses judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// DNS that drops every non-public address, so a name that resolves only to private addresses
/// cannot be reached (checked at connect time: no gap between the check and the use).
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(OutboundError::PrivateAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

tokio::task_local! {
    static WATCHED: Failures;
}

/// The last request that failed (answered with a 4xx or 5xx, or not answered at all) while a
/// future ran under [`Failures::watch`]. For libraries that keep only *that* a request failed:
/// atrium-oauth's code exchange panics on a refused exchange, dropping the answer that says why.
#[derive(Clone, Default)]
pub struct Failures(Arc<Mutex<Option<String>>>);

impl Failures {
    /// `future`, with the requests it makes through [`Outbound`] watched (also in a task it is
    /// spawned as).
    pub fn watch<F: std::future::Future>(&self, future: F) -> tokio::task::futures::TaskLocalFuture<Failures, F> {
        WATCHED.scope(self.clone(), future)
    }

    /// The last failure seen, described as `METHOD host:port/path: what happened`.
    pub fn last(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Notes a failure if the current task is watched.
    fn note(describe: impl FnOnce() -> String) {
        let _ = WATCHED.try_with(|failures| {
            *failures.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(describe());
        });
    }
}

/// The start of an answer's body, as printable text (it comes from another server).
fn excerpt(body: &[u8]) -> String {
    const SHOWN: usize = 300;
    format!("{:?}", String::from_utf8_lossy(&body[..body.len().min(SHOWN)]))
}

/// A host's circuit.
#[derive(Debug, Default, Clone, Copy)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

#[derive(Debug)]
struct Breakers {
    by_host: Mutex<HashMap<String, Breaker>>,
    /// How long an open circuit stays open before one trial request is let through.
    cooldown: Duration,
}

impl Breakers {
    fn new(cooldown: Duration) -> Self {
        Self {
            by_host: Mutex::default(),
            cooldown,
        }
    }

    /// `false` while the host's circuit is open.
    fn allows(&self, host: &str, now: Instant) -> bool {
        let breakers = self.by_host.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        breakers
            .get(host)
            .and_then(|breaker| breaker.open_until)
            .is_none_or(|until| now >= until)
    }

    fn record(&self, host: &str, success: bool, now: Instant) {
        let mut breakers = self.by_host.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let breaker = breakers.entry(host.to_owned()).or_default();
        if success {
            *breaker = Breaker::default();
            return;
        }
        breaker.failures += 1;
        // A failed trial after the cooldown opens the circuit again at once.
        if breaker.failures >= BREAKER_THRESHOLD || breaker.open_until.is_some() {
            if breaker.open_until.is_none() {
                tracing::warn!(host, failures = breaker.failures, "circuit opened");
            }
            breaker.open_until = Some(now + self.cooldown);
        }
    }
}

/// The TLS settings every HTTP client and websocket of this process shares: the platform's
/// defaults (certificates and host names verified, the system's trusted roots). Setting them up
/// reads and parses every trusted certificate on the system, about 60 ms of CPU, most of an app's
/// start-up in a profile; so it is done once, not once per client or connection. `None` when the
/// platform's TLS library cannot be set up: each client then tries on its own, as it would
/// without this.
pub(crate) fn shared_tls() -> Option<native_tls::TlsConnector> {
    static TLS: OnceLock<Option<native_tls::TlsConnector>> = OnceLock::new();
    TLS.get_or_init(|| {
        native_tls::TlsConnector::new()
            .inspect_err(|error| tracing::warn!(%error, "TLS could not be set up"))
            .ok()
    })
    .clone()
}

/// The HTTP client for the ATProto network (see the module docs). Clones share their circuit
/// breakers and connection pools.
#[derive(Clone)]
pub struct Outbound {
    /// For trusted destinations: configured services, or everything on the local network.
    direct: reqwest::Client,
    /// For everything else: public addresses only.
    guarded: reqwest::Client,
    policy: Arc<AddressPolicy>,
    breakers: Arc<Breakers>,
}

impl Outbound {
    /// `cooldown`: how long a host whose circuit opened is skipped.
    pub fn new(policy: AddressPolicy, cooldown: Duration) -> Self {
        let builder = || {
            let builder = reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .user_agent(concat!("skymeet/", env!("CARGO_PKG_VERSION")));
            match shared_tls() {
                Some(tls) => builder.use_preconfigured_tls(tls),
                None => builder,
            }
        };
        let direct = builder()
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .unwrap_or_default();
        let guarded = builder()
            .dns_resolver(Arc::new(PublicOnlyResolver))
            // Names are checked by the resolver; a redirect to an address literal is checked here.
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let private_literal = attempt
                    .url()
                    .host_str()
                    .and_then(|host| host.trim_matches(['[', ']']).parse::<IpAddr>().ok())
                    .is_some_and(|ip| !is_public(ip));
                if private_literal {
                    let url = attempt.url().to_string();
                    attempt.error(OutboundError::PrivateAddress(url))
                } else if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .unwrap_or_default();
        Self {
            direct,
            guarded,
            policy: Arc::new(policy),
            breakers: Arc::new(Breakers::new(cooldown)),
        }
    }

    /// `GET url`, reading at most `limit` bytes of the answer (a smaller bound than the usual
    /// one, for answers such as images that have their own).
    pub async fn get(&self, url: &Url, limit: usize) -> Result<Response<Vec<u8>>, OutboundError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url.as_str())
            .body(Vec::new())
            .map_err(|e| OutboundError::BadRequest(e.to_string()))?;
        self.send_capped(request, limit.min(MAX_RESPONSE_BYTES)).await
    }

    async fn send(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, OutboundError> {
        self.send_capped(request, MAX_RESPONSE_BYTES).await
    }

    async fn send_capped(&self, request: Request<Vec<u8>>, limit: usize) -> Result<Response<Vec<u8>>, OutboundError> {
        let url = Url::parse(&request.uri().to_string()).map_err(|e| OutboundError::BadRequest(e.to_string()))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        // One circuit per server: host and port.
        let server = format!("{host}:{}", url.port_or_known_default().unwrap_or_default());
        let trusted = self.policy.is_trusted(&url);
        if !trusted {
            if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
                if !is_public(ip) {
                    return Err(OutboundError::PrivateAddress(host));
                }
            }
        }
        let client = if trusted { &self.direct } else { &self.guarded };
        let idempotent = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let (parts, body) = request.into_parts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = Instant::now();
            if !self.breakers.allows(&server, now) {
                Failures::note(|| format!("{} {server}{}: not sent, the circuit is open", parts.method, url.path()));
                return Err(OutboundError::CircuitOpen(server));
            }
            let outgoing = client
                .request(parts.method.clone(), url.clone())
                .headers(parts.headers.clone())
                .body(body.clone());
            let retry_left = attempt < MAX_ATTEMPTS;
            match outgoing.send().await {
                Ok(response) => {
                    let status = response.status();
                    let took = now.elapsed();
                    ::metrics::histogram!(metrics::OUTBOUND_REQUEST_DURATION_SECONDS).record(took.as_secs_f64());
                    tracing::debug!(
                        method = %parts.method,
                        server,
                        path = url.path(),
                        status = status.as_u16(),
                        took_ms = took.as_secs_f64() * 1000.0,
                        "outbound request"
                    );
                    let transient = matches!(status.as_u16(), 502..=504);
                    self.breakers.record(&server, !status.is_server_error(), Instant::now());
                    if transient && idempotent && retry_left {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    let answer = into_http(response, limit).await;
                    if let (Ok(refusal), true) = (&answer, status.as_u16() >= 400) {
                        Failures::note(|| {
                            format!(
                                "{} {server}{}: {status} {}",
                                parts.method,
                                url.path(),
                                excerpt(refusal.body())
                            )
                        });
                    }
                    return answer;
                }
                Err(e) => {
                    Failures::note(|| format!("{} {server}{}: {e}", parts.method, url.path()));
                    self.breakers.record(&server, false, Instant::now());
                    if refused_private(&e) {
                        return Err(OutboundError::PrivateAddress(host));
                    }
                    // A failed connect sent nothing, so even a POST may be repeated. A request
                    // that changes nothing may be repeated after any failure to get an answer:
                    // among them a kept-alive connection the server closed just as the request
                    // went out on it (servers close idle connections on their own schedule:
                    // Node's default is after 5 s, far sooner than our pool lets them go).
                    let repeatable = e.is_connect() || (idempotent && (e.is_timeout() || e.is_request()));
                    if repeatable && retry_left {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// Whether an error (from any library wrapping ours) comes from the SSRF guard.
pub fn refused_private(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.to_string().contains(NOT_PUBLIC) {
            return true;
        }
        source = e.source();
    }
    false
}

async fn into_http(response: reqwest::Response, limit: usize) -> Result<Response<Vec<u8>>, OutboundError> {
    let mut builder =
        Response::builder().status(StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = read_capped(response, limit).await?;
    builder.body(body).map_err(|e| OutboundError::BadRequest(e.to_string()))
}

/// Reads a body of at most `limit` bytes: a server that sends more (or says it will) is refused
/// before the rest is read, so no answer from the network can fill our memory.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, OutboundError> {
    let host = response.url().host_str().unwrap_or_default().to_owned();
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(OutboundError::TooLarge { host, limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(OutboundError::TooLarge { host, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// 100 ms, 200 ms, ... with ±50% jitter.
fn backoff(attempt: u32) -> Duration {
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    let base = RETRY_BASE * 2u32.saturating_pow(attempt.saturating_sub(1));
    let jitter = 0.5 + f64::from(OsRng.next_u32() % 1000) / 1000.0;
    base.mul_f64(jitter)
}

impl HttpClient for Outbound {
    async fn send_http(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<Response<Vec<u8>>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.send(request).await.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn the_circuit_opens_after_repeated_failures_and_closes_after_a_good_trial() {
        const BREAKER_COOLDOWN: Duration = Duration::from_secs(30);
        let breakers = Breakers::new(BREAKER_COOLDOWN);
        let start = Instant::now();
        for _ in 0..BREAKER_THRESHOLD - 1 {
            breakers.record("pds.example", false, start);
        }
        assert!(breakers.allows("pds.example", start), "not yet");
        breakers.record("pds.example", false, start);
        assert!(!breakers.allows("pds.example", start), "open");
        assert!(breakers.allows("other.example", start), "per host");
        let later = start + BREAKER_COOLDOWN;
        assert!(breakers.allows("pds.example", later), "one trial after the cooldown");
        breakers.record("pds.example", false, later);
        assert!(!breakers.allows("pds.example", later), "a failed trial opens it again");
        let much_later = later + BREAKER_COOLDOWN;
        breakers.record("pds.example", true, much_later);
        assert!(breakers.allows("pds.example", much_later), "a good trial closes it");
    }

    #[test]
    fn configured_services_are_trusted_by_host_and_port() {
        let plc = Url::parse("http://localhost:2582").expect("url");
        let policy = AddressPolicy::default().trust(&plc);
        assert!(policy.is_trusted(&Url::parse("http://localhost:2582/did:plc:abc").expect("url")));
        assert!(!policy.is_trusted(&Url::parse("http://localhost:2583/xrpc/x").expect("url")));
    }

    #[tokio::test]
    async fn private_destinations_are_refused_unless_trusted() {
        let outbound = Outbound::new(AddressPolicy::default(), Duration::from_secs(30));
        for url in [
            "http://127.0.0.1:9/x",
            "http://localhost:9/x",
            "http://[::1]:9/x",
            "http://169.254.169.254/latest",
        ] {
            let request = Request::builder().uri(url).body(Vec::new()).expect("request");
            let result = outbound.send(request).await;
            assert!(
                matches!(result, Err(OutboundError::PrivateAddress(_))),
                "{url}: {result:?}"
            );
        }
    }

    /// A local server that hands each connection it accepts to `serve`, in a task of its own.
    async fn serving<F, Fut>(serve: F) -> std::net::SocketAddr
    where
        F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket));
            }
        });
        address
    }

    /// A local server answering every request with `head` and then `body_bytes` bytes of body.
    async fn answering(head: &'static str, body_bytes: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = serving(move |mut socket| async move {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < body_bytes {
                let n = chunk.len().min(body_bytes - sent);
                if socket.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent += n;
            }
        })
        .await;
        format!("http://{address}/")
    }

    #[tokio::test]
    async fn a_watched_task_learns_which_request_failed_and_why() {
        let local = AddressPolicy {
            allow_private: true,
            ..Default::default()
        };
        let outbound = Outbound::new(local, Duration::from_secs(30));
        let post = |url: &str| {
            Request::builder()
                .method(Method::POST)
                .uri(format!("{url}oauth/token"))
                .body(Vec::new())
                .expect("request")
        };
        let refusing = answering(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 49\r\n\r\n{\"error\":\"invalid_grant\",\"error_description\":\"x\"}",
            0,
        )
        .await;
        let fine = answering("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", 0).await;

        // Unwatched, nothing is noted (and nothing fails for want of a watcher).
        let failures = Failures::default();
        outbound.send(post(&refusing)).await.expect("an answer");
        assert_eq!(failures.last(), None);

        // Watched, in a task of its own: the refusal is kept, and a later success does not hide it.
        let (watched, client) = (failures.clone(), outbound.clone());
        let (refusing_url, fine_url) = (refusing.clone(), fine.clone());
        tokio::spawn(watched.watch(async move {
            client.send(post(&refusing_url)).await.expect("an answer");
            client.send(post(&fine_url)).await.expect("an answer");
        }))
        .await
        .expect("the task");
        let last = failures.last().expect("a failure noted");
        let port = Url::parse(&refusing).expect("url").port().expect("port");
        assert_eq!(
            last,
            format!("POST 127.0.0.1:{port}/oauth/token: 400 Bad Request \"{{\\\"error\\\":\\\"invalid_grant\\\",\\\"error_description\\\":\\\"x\\\"}}\"")
        );

        // A request that is never answered is noted with the transport's error.
        let failures = Failures::default();
        let client = outbound.clone();
        tokio::spawn(failures.watch(async move { client.send(post("http://127.0.0.1:9/")).await }))
            .await
            .expect("the task")
            .expect_err("nothing listens on port 9");
        assert!(failures
            .last()
            .expect("noted")
            .starts_with("POST 127.0.0.1:9/oauth/token: "));
    }

    #[tokio::test]
    async fn a_get_is_sent_again_when_its_kept_alive_connection_closes_under_it() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Each connection answers its first request and keeps the connection open, then closes
        // it as the second request arrives, unanswered: what a server timing out an idle
        // connection does to a request sent on it at that moment.
        let address = serving(|mut socket| async move {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            let _ = socket.read(&mut request).await;
        })
        .await;
        let local = AddressPolicy {
            allow_private: true,
            ..Default::default()
        };
        let outbound = Outbound::new(local, Duration::from_secs(30));
        let request = |method: Method| {
            Request::builder()
                .method(method)
                .uri(format!("http://{address}/did:plc:abc"))
                .body(Vec::new())
                .expect("request")
        };
        for round in 0..3 {
            let response = outbound.send(request(Method::GET)).await;
            assert_eq!(response.expect("answered").body(), b"ok", "GET {round}");
        }
        // A POST may have been acted on before the connection closed: it is not sent again (the
        // last GET's connection is kept, and closes under it).
        let result = outbound.send(request(Method::POST)).await;
        assert!(matches!(result, Err(OutboundError::Http(_))), "{result:?}");
    }

    #[tokio::test]
    async fn answers_larger_than_the_cap_are_refused_before_they_are_read_whole() {
        let local = AddressPolicy {
            allow_private: true,
            ..Default::default()
        };
        let outbound = Outbound::new(local, Duration::from_secs(30));
        let get = |url: &str| Request::builder().uri(url).body(Vec::new()).expect("request");
        // Says it is too big.
        let declared = answering("HTTP/1.1 200 OK\r\ncontent-length: 17000000\r\n\r\n", 1024).await;
        let result = outbound.send(get(&declared)).await;
        assert!(matches!(result, Err(OutboundError::TooLarge { .. })), "{result:?}");
        // Does not say, and keeps sending.
        let endless = answering("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", MAX_RESPONSE_BYTES + 1).await;
        let result = outbound.send(get(&endless)).await;
        assert!(matches!(result, Err(OutboundError::TooLarge { .. })), "{result:?}");
        // Within the cap: read whole.
        let small = answering("HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", 5000).await;
        let response = outbound.send(get(&small)).await.expect("read");
        assert_eq!(response.body().len(), 5000);
    }
}
