//! TLS (feature `rustls`): our client over `https://` and `wss://` against our server on a
//! `TlsListener`, with a self-signed certificate it is told to trust, and refused without.

#![cfg(feature = "rustls")]

// Shared by the test files; each uses part of it.
#[allow(dead_code)]
mod support;

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use switchboard::Error;
use switchboard_acp::schema::StopReason;
use switchboard_examples::acp_echo::echo_agent;
use switchboard_http::tls::TlsListener;
use switchboard_http::tls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use switchboard_http::{AcpServer, RemoteAgent};
use tokio::net::TcpListener;

use support::{converse, guard};

/// A certificate for `localhost`, signed by itself, and its key.
fn self_signed() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let key = PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der());
    (certified.cert.der().clone(), PrivateKeyDer::Pkcs8(key))
}

#[tokio::test]
async fn a_session_crosses_https_and_wss_and_an_untrusted_certificate_is_refused() {
    let (certificate, key) = self_signed();
    let tcp = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = tcp.local_addr().expect("its address").port();
    let listener = TlsListener::new(tcp, vec![certificate.clone()], key).expect("TLS");
    let (done, mut handlers_done) = mpsc::channel::<()>(8);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(AcpServer::new().serve_tls_until(
        listener,
        move |remote| {
            let mut done = done.clone();
            async move {
                let ended = echo_agent().connect_to(remote).await;
                let _ = futures::SinkExt::send(&mut done, ()).await;
                ended
            }
        },
        async {
            let _ = stopped.await;
        },
    ));
    for url in [
        format!("https://localhost:{port}/acp"),
        format!("wss://localhost:{port}/acp"),
    ] {
        let agent = RemoteAgent::new(&url).root_certificate(certificate.clone());
        let (said, reason) = guard("a conversation over TLS", converse(agent))
            .await
            .unwrap_or_else(|error| panic!("{url}: {error}"));
        assert_eq!(
            said,
            "read @notes.txt [notes.txt: contents of /work/notes.txt] "
        );
        assert_eq!(reason, StopReason::EndTurn);
        guard("its agent to end", handlers_done.next()).await;

        let untrusted = guard(
            "a client that does not trust it",
            converse(RemoteAgent::new(&url)),
        )
        .await
        .expect_err("the certificate is not trusted");
        assert!(untrusted.message().contains(&url), "{untrusted}");
    }
    let _ = stop.send(());
    let served: Result<(), Error> = guard("the server", server).await.expect("its task");
    served.expect("it ends cleanly");
}
