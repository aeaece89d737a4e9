//! TLS through the process's one TLS setup (`outbound::shared_tls`, made once, shared by the HTTP
//! clients and the firehose websocket): a server whose certificate the system trusts is reached
//! over `https://` and `wss://`, and one it does not trust is refused.
//!
//! The local network here is plain HTTP, so these servers are made for the test: a certificate
//! for `localhost` made by `rcgen`, served over loopback by the same TLS library the app uses.
//! Which certificates "the system" trusts is OpenSSL's `SSL_CERT_FILE`, read once per process
//! when the TLS setup is made; so the half that trusts the test's certificate runs in a child
//! process of this test binary, started with `SSL_CERT_FILE` naming that certificate alone.

use crate::helpers::{spawn_app, AppOptions};
use skymeet::server::outbound::{AddressPolicy, Outbound};
use std::{path::Path, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The test run in the child process (ignored unless asked for by name).
const CHILD: &str = "tls::in_a_process_trusting_the_certificate_https_and_wss_connect";
const CERT_VAR: &str = "SKYMEET_TEST_TLS_CERT";
const KEY_VAR: &str = "SKYMEET_TEST_TLS_KEY";

/// Serves TLS with `cert` and `key` (PEM) on a loopback port: plain HTTP answering "ok" to any
/// request, or with `websocket`, a websocket that stays open and says nothing.
async fn serve(cert: &[u8], key: &[u8], websocket: bool) -> u16 {
    let identity = native_tls::Identity::from_pkcs8(cert, key).expect("the test's certificate and key");
    let acceptor = tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).expect("TLS"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if websocket {
                    if let Ok(_socket) = tokio_tungstenite::accept_async(tls).await {
                        std::future::pending::<()>().await;
                    }
                    return;
                }
                let mut head = Vec::new();
                let mut buffer = [0_u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn outbound() -> Outbound {
    // Loopback is allowed, as on the local network.
    let policy = AddressPolicy {
        allow_private: true,
        ..AddressPolicy::default()
    };
    Outbound::new(policy, Duration::from_secs(1))
}

fn url(port: u16) -> url::Url {
    url::Url::parse(&format!("https://localhost:{port}/hello")).expect("URL")
}

#[tokio::test]
async fn a_certificate_the_system_does_not_trust_is_refused_and_one_it_trusts_is_accepted() {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());

    // This process trusts the system's certificates, and this one is not among them.
    let port = serve(cert.as_bytes(), key.as_bytes(), false).await;
    let refused = outbound().get(&url(port), 1024).await;
    assert!(
        refused.is_err(),
        "a certificate nobody trusts was accepted: {refused:?}"
    );

    // A process that trusts this certificate alone connects.
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert).expect("cert written");
    std::fs::write(&key_file, &key).expect("key written");
    let mut command = std::process::Command::new(std::env::current_exe().expect("this test binary"));
    command
        .args([CHILD, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", &cert_file)
        .env("SSL_CERT_DIR", dir.path().join("no-such-dir"))
        .env(CERT_VAR, &cert_file)
        .env(KEY_VAR, &key_file);
    let child = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the child test ran")
        .expect("the child test starts");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(child.status.success(), "the child test failed:\n{output}");
    assert!(output.contains("1 passed"), "the child test did not run:\n{output}");
}

/// Run by the test above, in a process whose only trusted certificate is the test's.
#[tokio::test]
#[ignore = "run by a_certificate_the_system_does_not_trust_is_refused_and_one_it_trusts_is_accepted"]
async fn in_a_process_trusting_the_certificate_https_and_wss_connect() {
    let read = |var: &str| {
        let path = std::env::var(var).unwrap_or_else(|_| panic!("{var} is set by the test that runs this one"));
        std::fs::read(Path::new(&path)).expect("readable")
    };
    let (cert, key) = (read(CERT_VAR), read(KEY_VAR));

    // The HTTP client (every request to the ATProto network goes through it).
    let port = serve(&cert, &key, false).await;
    let response = outbound().get(&url(port), 1024).await.expect("reached over https");
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), b"ok");

    // The firehose websocket.
    let port = serve(&cert, &key, true).await;
    let app = spawn_app(AppOptions::embedded().with(
        "FIREHOSE_URL",
        format!("wss://localhost:{port}/xrpc/com.atproto.sync.subscribeRepos"),
    ))
    .await;
    let consumer = app.state.consumer().expect("a consumer");
    let started = std::time::Instant::now();
    while !consumer.connected() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the consumer never connected over wss"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shutdown.cancel();
}
