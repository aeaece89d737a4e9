//! DPoP (RFC 9449) for a signed-in account's requests to its PDS: the proof each request carries,
//! the nonces PDSes hand out, and the client that sends requests with both.
//!
//! A PDS takes an OAuth access token only with a fresh proof that the sender holds the key the
//! token is bound to (the session's DPoP key): a short JWT naming the request's method and
//! address and the token's hash, signed with that key. The PDS also asks each proof to carry a
//! nonce it chose; a proof without its current nonce is refused, and the refusal's
//! `DPoP-Nonce` header gives it.
//!
//! atrium-oauth has a DPoP client of its own, which still does everything around the sign-in
//! (authorization requests, token exchanges and refreshes, revocations). Requests to a PDS go
//! through this one instead, for two reasons:
//! - atrium-oauth prepares the key again for every proof: it decodes the JWK and derives the
//!   public key twice, three P-256 multiplications where a signature needs one (about 0.7 ms of
//!   CPU a request). Here the key is prepared once ([`ProofKey`]) and signs with ring's P-256.
//! - atrium-oauth keeps the nonce it learned in the session that learned it, so each new session
//!   starts without one and its first request is refused and sent again: a second round trip. A
//!   nonce is its server's, the same for every account there, so here it is kept per PDS
//!   ([`Nonces`]) and shared by every session and, through the key-value store, every instance.

use crate::server::{kv::KvStore, outbound::Outbound};
use atrium_api::xrpc::{
    http::{header::WWW_AUTHENTICATE, HeaderValue, Request, Response, Uri},
    types::AuthorizationToken,
    HttpClient, XrpcClient,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    #[error("the session's DPoP key is not a private P-256 key")]
    UnsupportedKey,
    #[error("the DPoP proof could not be written")]
    Encoding(#[from] serde_json::Error),
    #[error("the DPoP proof could not be signed")]
    Signing,
}

/// A session's DPoP key, ready to sign proofs: the signing key with its public half already
/// derived, and the proofs' header (which names the public key) already encoded.
pub struct ProofKey {
    signing: EcdsaKeyPair,
    random: SystemRandom,
    /// The base64url JSON header every proof made with this key shares.
    header: String,
}

impl ProofKey {
    pub fn new(key: &jose_jwk::Key) -> Result<Self, DpopError> {
        let jose_jwk::Key::Ec(ec) = key else {
            return Err(DpopError::UnsupportedKey);
        };
        let secret = p256::SecretKey::try_from(ec).map_err(|_| DpopError::UnsupportedKey)?;
        let public_key = secret.public_key();
        let random = SystemRandom::new();
        let signing = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &secret.to_bytes(),
            p256::EncodedPoint::from(&public_key).as_bytes(),
            &random,
        )
        .map_err(|_| DpopError::UnsupportedKey)?;
        let public = jose_jwk::Key::Ec(jose_jwk::Ec::from(&public_key));
        #[derive(Serialize)]
        struct Header<'a> {
            typ: &'a str,
            alg: &'a str,
            jwk: &'a jose_jwk::Key,
        }
        let header = serde_json::to_vec(&Header {
            typ: "dpop+jwt",
            alg: "ES256",
            jwk: &public,
        })?;
        Ok(Self {
            signing,
            random,
            header: URL_SAFE_NO_PAD.encode(header),
        })
    }

    /// A proof for one request: `method` on `uri` (its query and fragment are not part of it),
    /// with `ath`, the access token's hash, and the server's `nonce` when there is one.
    pub fn proof(&self, method: &str, uri: &Uri, ath: Option<&str>, nonce: Option<&str>) -> Result<String, DpopError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            jti: String,
            htm: &'a str,
            htu: String,
            iat: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            ath: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            nonce: Option<&'a str>,
        }
        let claims = serde_json::to_vec(&Claims {
            jti: proof_id(),
            htm: method,
            htu: without_query(uri),
            iat: chrono::Utc::now().timestamp(),
            ath,
            nonce,
        })?;
        let signed = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(claims));
        // ES256 in a JWS is the signature's r and s, 32 bytes each ("fixed").
        let signature = self
            .signing
            .sign(&self.random, signed.as_bytes())
            .map_err(|_| DpopError::Signing)?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }
}

/// A proof's unique id (`jti`): the server keeps the ones it has seen to refuse a replay.
fn proof_id() -> String {
    use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The address a proof names (`htu`): scheme, authority and path.
fn without_query(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map_or("", |authority| authority.as_str()),
        uri.path()
    )
}

/// The access token's hash as a proof carries it (`ath`).
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// How many PDSes' nonces one instance keeps (the least recently used go first).
const NONCES_KEPT: usize = 10_000;
/// How long a nonce is offered to other instances: a PDS replaces its nonce every minute or so
/// and takes the one before for a while; an older one costs only the refused first request.
const NONCE_SHARED_FOR: Duration = Duration::from_secs(3 * 60);
/// The longest nonce taken: PDSes send 43 characters. A longer one is ignored, like one with
/// characters no nonce has: the request it came with stands as answered.
const MAX_NONCE_LEN: usize = 256;
/// The longest server address (host and port) whose nonce is kept (a DNS name has at most 253
/// characters).
const MAX_AUTHORITY_LEN: usize = 262;

/// The nonce each PDS gave last, by its address (host and port): kept in this instance and
/// offered to the others through the key-value store. A nonce only spares a round trip, so
/// failing to read or write the store costs nothing else.
///
/// A server neither this instance nor the store knows a nonce of is kept as having none, so that
/// requests to a PDS that never sends one do not each ask the store first. A PDS that does use
/// nonces names its current one in its first answer, which then takes that place.
pub struct Nonces {
    /// Per server: `Some` nonce, or `None` when the store had none when asked.
    kept: quick_cache::sync::Cache<String, Option<Arc<str>>>,
    kv: KvStore,
    refusals: AtomicU64,
}

impl Nonces {
    pub fn new(kv: KvStore) -> Self {
        Self {
            kept: quick_cache::sync::Cache::new(NONCES_KEPT),
            kv,
            refusals: AtomicU64::new(0),
        }
    }

    /// How many requests from this instance a PDS refused for want of its current nonce (each
    /// was sent again with it).
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    fn kv_key(authority: &str) -> String {
        format!("dpop-nonce:{authority}")
    }

    /// The nonce to send to the server at `authority`, if this or another instance knows one.
    async fn get(&self, authority: &str) -> Option<Arc<str>> {
        if authority.len() > MAX_AUTHORITY_LEN {
            return None;
        }
        if let Some(known) = self.kept.get(authority) {
            return known;
        }
        let shared = match self.kv.get(&Self::kv_key(authority)).await {
            Ok(shared) => shared
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .filter(|nonce| is_nonce(nonce))
                .map(Arc::from),
            Err(error) => {
                // Not kept: the store is asked again next time.
                tracing::debug!(%error, "reading a shared DPoP nonce failed");
                return None;
            }
        };
        self.kept.insert(authority.to_owned(), shared.clone());
        shared
    }

    /// Keeps the nonce the server at `authority` just gave, and offers it to the other instances.
    async fn learn(&self, authority: &str, nonce: &str) {
        if !is_nonce(nonce) || authority.len() > MAX_AUTHORITY_LEN {
            return;
        }
        self.kept.insert(authority.to_owned(), Some(nonce.into()));
        let shared = self
            .kv
            .set(&Self::kv_key(authority), nonce.as_bytes(), NONCE_SHARED_FOR)
            .await;
        if let Err(error) = shared {
            tracing::debug!(%error, "sharing a DPoP nonce failed");
        }
    }
}

/// Whether `text` can be a nonce (RFC 9449: visible ASCII but `"` and `\`), and short enough
/// to keep.
fn is_nonce(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_NONCE_LEN
        && text.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// The nonce a response carries, if it is one.
fn nonce_of(response: &Response<Vec<u8>>) -> Option<&str> {
    response
        .headers()
        .get("DPoP-Nonce")
        .and_then(|value| value.to_str().ok())
        .filter(|nonce| is_nonce(nonce))
}

/// Whether a PDS refused the request for want of its current nonce (RFC 9449, section 9).
fn refused_for_nonce(response: &Response<Vec<u8>>) -> bool {
    response.status() == 401
        && response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|challenge| challenge.starts_with("DPoP") && challenge.contains(r#"error="use_dpop_nonce""#))
}

/// Whether the PDS refused the access token itself (RFC 6750, section 3): its time is up, or it
/// was revoked.
pub fn refused_token(challenge: &HeaderValue) -> bool {
    challenge
        .to_str()
        .is_ok_and(|challenge| challenge.starts_with("DPoP ") && challenge.contains(r#"error="invalid_token""#))
}

/// Sends an account's XRPC requests to its PDS with its access token and a DPoP proof for each.
/// It does not refresh the token: a refused token is the caller's to handle.
pub struct PdsClient {
    http: Arc<Outbound>,
    nonces: Arc<Nonces>,
    key: Arc<ProofKey>,
    /// The PDS's address, as the token names it (its audience).
    endpoint: String,
    access_token: String,
    /// The access token's hash, for the proofs.
    ath: String,
}

impl PdsClient {
    pub fn new(
        http: Arc<Outbound>,
        nonces: Arc<Nonces>,
        key: Arc<ProofKey>,
        endpoint: String,
        access_token: String,
    ) -> Self {
        let ath = token_hash(&access_token);
        Self {
            http,
            nonces,
            key,
            endpoint,
            access_token,
            ath,
        }
    }

    /// Sends `request` with a proof carrying `nonce`.
    async fn send_with(
        &self,
        mut request: Request<Vec<u8>>,
        nonce: Option<&str>,
    ) -> Result<Response<Vec<u8>>, BoxError> {
        let proof = self
            .key
            .proof(request.method().as_str(), request.uri(), Some(&self.ath), nonce)?;
        request.headers_mut().insert("DPoP", proof.parse()?);
        self.http.send_http(request).await
    }
}

impl HttpClient for PdsClient {
    async fn send_http(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, BoxError> {
        let authority = request
            .uri()
            .authority()
            .map(|authority| authority.as_str().to_owned())
            .unwrap_or_default();
        let sent = self.nonces.get(&authority).await;
        let response = self.send_with(request.clone(), sent.as_deref()).await?;
        let Some(fresh) = nonce_of(&response).filter(|fresh| Some(*fresh) != sent.as_deref()) else {
            return Ok(response);
        };
        let fresh = fresh.to_owned();
        self.nonces.learn(&authority, &fresh).await;
        if !refused_for_nonce(&response) {
            return Ok(response);
        }
        self.nonces.refusals.fetch_add(1, Ordering::Relaxed);
        self.send_with(request, Some(&fresh)).await
    }
}

impl XrpcClient for PdsClient {
    fn base_uri(&self) -> String {
        self.endpoint.clone()
    }

    async fn authorization_token(&self, _is_refresh: bool) -> Option<AuthorizationToken> {
        Some(AuthorizationToken::Dpop(self.access_token.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, Signature, VerifyingKey};
    use serde_json::Value;

    fn decoded(part: &str) -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    fn session_key() -> (p256::SecretKey, jose_jwk::Key) {
        let secret = p256::SecretKey::random(&mut chacha20poly1305::aead::OsRng);
        let jwk = jose_jwk::Key::Ec(jose_jwk::Ec::from(&secret));
        (secret, jwk)
    }

    #[test]
    fn a_proof_is_signed_by_the_public_key_it_names_and_binds_the_request() {
        let (secret, jwk) = session_key();
        let key = ProofKey::new(&jwk).expect("a P-256 key");
        let uri: Uri = "https://pds.example:2583/xrpc/com.atproto.repo.getRecord?repo=did:plc:a#x"
            .parse()
            .expect("uri");
        let proof = key
            .proof("GET", &uri, Some(&token_hash("the-token")), Some("n0nce"))
            .expect("proof");

        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3, "{proof}");
        let header = decoded(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(
            header["jwk"].get("d").is_none(),
            "the private part stays private: {header}"
        );
        let named: jose_jwk::Key = serde_json::from_value(header["jwk"].clone()).expect("a JWK");
        let jose_jwk::Key::Ec(named) = named else {
            panic!("an EC key: {header}")
        };
        let public = p256::PublicKey::try_from(&named).expect("a P-256 public key");
        assert_eq!(public, secret.public_key(), "the session key's public half");

        let claims = decoded(parts[1]);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(
            claims["htu"],
            "https://pds.example:2583/xrpc/com.atproto.repo.getRecord"
        );
        assert_eq!(claims["ath"], URL_SAFE_NO_PAD.encode(Sha256::digest(b"the-token")));
        assert_eq!(claims["nonce"], "n0nce");
        let iat = claims["iat"].as_i64().expect("iat");
        assert!((iat - chrono::Utc::now().timestamp()).abs() <= 5, "{claims}");

        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url")).expect("r || s");
        let signed = format!("{}.{}", parts[0], parts[1]);
        VerifyingKey::from(&public)
            .verify(signed.as_bytes(), &signature)
            .expect("signed by the session key");

        let again = key.proof("GET", &uri, None, None).expect("proof");
        let claims_again = decoded(again.split('.').nth(1).expect("claims"));
        assert_ne!(claims_again["jti"], claims["jti"], "each proof has its own id");
        assert!(claims_again.get("nonce").is_none() && claims_again.get("ath").is_none());
    }

    #[test]
    fn only_a_private_p256_key_makes_proofs() {
        let (secret, _) = session_key();
        let public_only = jose_jwk::Key::Ec(jose_jwk::Ec::from(&secret.public_key()));
        assert!(matches!(ProofKey::new(&public_only), Err(DpopError::UnsupportedKey)));
        let symmetric: jose_jwk::Key =
            serde_json::from_value(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"})).expect("oct");
        assert!(matches!(ProofKey::new(&symmetric), Err(DpopError::UnsupportedKey)));
    }

    #[test]
    fn a_hostile_nonce_is_neither_sent_nor_kept() {
        assert!(is_nonce("kp0bKbyFQZZ3b8Vv5Wd4aZ3gJ1YxJc2C5tOiAbcDeFg"));
        for hostile in [
            "",
            "a b",
            "a\"b",
            "a\\b",
            "line\nbreak",
            "ünï",
            &"n".repeat(MAX_NONCE_LEN + 1),
        ] {
            assert!(!is_nonce(hostile), "{hostile:?}");
        }
        let response = |nonce: &str, challenge: &str| {
            Response::builder()
                .status(401)
                .header("DPoP-Nonce", nonce)
                .header(WWW_AUTHENTICATE, challenge)
                .body(Vec::new())
                .expect("response")
        };
        let refused = response(
            "fresh",
            r#"DPoP error="use_dpop_nonce", error_description="Nonce mismatch""#,
        );
        assert_eq!(nonce_of(&refused), Some("fresh"));
        assert!(refused_for_nonce(&refused));
        let hostile = response(&"n".repeat(MAX_NONCE_LEN + 1), r#"DPoP error="use_dpop_nonce""#);
        assert_eq!(nonce_of(&hostile), None);
        assert!(!refused_for_nonce(&response("fresh", r#"DPoP error="invalid_token""#)));
        assert!(refused_token(&HeaderValue::from_static(
            r#"DPoP error="invalid_token""#
        )));
        assert!(!refused_token(&HeaderValue::from_static(
            r#"Bearer error="invalid_token""#
        )));
    }

    /// A server that refuses every request for want of a nonce, each time naming the one
    /// `nonce(n)` makes for its `n`th request; the address it listens on, and its request count.
    async fn refusing(nonce: fn(usize) -> String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use axum::response::IntoResponse;
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        let app = axum::Router::new().fallback(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                (
                    axum::http::StatusCode::UNAUTHORIZED,
                    [
                        ("WWW-Authenticate", r#"DPoP error="use_dpop_nonce""#.to_owned()),
                        ("DPoP-Nonce", nonce(n)),
                    ],
                )
                    .into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (address, count)
    }

    fn client_of(address: &str, nonces: &Arc<Nonces>) -> PdsClient {
        let url = url::Url::parse(address).expect("url");
        let policy = crate::server::outbound::AddressPolicy::default().trust(&url);
        let (_, jwk) = session_key();
        PdsClient::new(
            Arc::new(Outbound::new(policy, Duration::from_secs(30))),
            Arc::clone(nonces),
            Arc::new(ProofKey::new(&jwk).expect("key")),
            address.to_owned(),
            "token".to_owned(),
        )
    }

    fn request_to(address: &str) -> Request<Vec<u8>> {
        Request::builder()
            .method("POST")
            .uri(format!("{address}/xrpc/com.atproto.repo.putRecord"))
            .body(b"{}".to_vec())
            .expect("request")
    }

    #[tokio::test]
    async fn a_server_that_refuses_every_nonce_is_asked_twice_and_its_refusal_stands() {
        let (address, count) = refusing(|n| format!("nonce-{n}")).await;
        let nonces = Arc::new(Nonces::new(KvStore::memory()));
        let response = client_of(&address, &nonces)
            .send_http(request_to(&address))
            .await
            .expect("an answer");
        assert_eq!(response.status(), 401);
        assert_eq!(count.load(Ordering::SeqCst), 2, "the request and one retry, no more");
        assert_eq!(nonces.refusals(), 1);
    }

    #[tokio::test]
    async fn a_hostile_nonce_from_a_server_is_not_sent_back() {
        let (address, count) = refusing(|_| "n".repeat(64 * 1024)).await;
        let nonces = Arc::new(Nonces::new(KvStore::memory()));
        let response = client_of(&address, &nonces)
            .send_http(request_to(&address))
            .await
            .expect("an answer");
        assert_eq!(response.status(), 401, "the refusal stands");
        assert_eq!(count.load(Ordering::SeqCst), 1, "not sent again");
        let authority = address.trim_start_matches("http://");
        assert_eq!(nonces.get(authority).await, None, "not kept");
    }

    #[tokio::test]
    async fn a_nonce_one_instance_learns_is_offered_to_the_others_and_an_overlong_address_is_not_kept() {
        let kv = KvStore::memory();
        let (first, second) = (Nonces::new(kv.clone()), Nonces::new(kv));
        assert_eq!(first.get("pds.example").await, None);
        first.learn("pds.example", "n1").await;
        assert_eq!(second.get("pds.example").await.as_deref(), Some("n1"));
        first.learn("pds.example", "not a nonce").await;
        assert_eq!(first.get("pds.example").await.as_deref(), Some("n1"), "kept");

        let long = "p".repeat(MAX_AUTHORITY_LEN + 1);
        first.learn(&long, "n2").await;
        assert!(first.kept.get(&long).is_none(), "not kept");
        assert_eq!(first.get(&long).await, None);
        assert_eq!(second.get(&long).await, None, "not offered");
    }

    #[tokio::test]
    async fn a_server_without_a_nonce_is_remembered_as_such_until_it_gives_one() {
        let kv = KvStore::memory();
        let nonces = Nonces::new(kv.clone());
        assert_eq!(nonces.get("pds.example").await, None);
        // Another instance's nonce arriving in the store later is not looked for on every
        // request: this instance learns the server's nonce from the server's own answer.
        kv.set(&Nonces::kv_key("pds.example"), b"n1", NONCE_SHARED_FOR)
            .await
            .expect("stored");
        assert_eq!(nonces.get("pds.example").await, None, "the store is not asked again");
        nonces.learn("pds.example", "n2").await;
        assert_eq!(nonces.get("pds.example").await.as_deref(), Some("n2"));
    }
}
