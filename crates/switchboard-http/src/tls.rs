//! TLS (feature `rustls`): `https://` and `wss://` for [`RemoteAgent`](crate::RemoteAgent),
//! and [`TlsListener`] for [`AcpServer`](crate::AcpServer).
//!
//! rustls on its `ring` provider. The client trusts the system's root certificates and any
//! given with [`RemoteAgent::root_certificate`](crate::RemoteAgent::root_certificate).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use switchboard::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

pub use rustls::pki_types;

/// The certificates of the PEM file at `path`, in order (a server's own first, for a chain);
/// an error naming the file if it cannot be read or holds none.
pub fn certificates_from_pem_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let unreadable = |error: pem::Error| pem_error(path, error);
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if certificates.is_empty() {
        return Err(Error::invalid_params(format!(
            "no certificate in {}",
            path.display()
        )));
    }
    Ok(certificates)
}

/// The private key of the PEM file at `path`; an error naming the file if it cannot be read.
pub fn private_key_from_pem_file(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| pem_error(path, error))
}

fn pem_error(path: &Path, error: pem::Error) -> Error {
    Error::invalid_params(format!("cannot read {}: {error}", path.display()))
}

/// How long a client has to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many handshakes may be under way at once; more connections wait to be accepted.
pub const MAX_HANDSHAKES: usize = 64;

/// rustls's `ring` provider: it builds without a C toolchain. rustls 0.23.48 deprecates it
/// for lacking post-quantum key exchange, which its `aws-lc-rs` provider has; moving to that
/// one (a C and CMake build) is the next step.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::invalid_params(format!("{what}: {error}"))
}

/// The client's TLS: the system's roots and `extra` ones.
pub(crate) fn client_config(extra: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    // A system without roots (or with unreadable ones) leaves only the given ones.
    for root in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(root);
    }
    for root in extra {
        roots
            .add(root.clone())
            .map_err(|error| tls_error("a root certificate cannot be used", error))?;
    }
    // No ALPN here: the HTTPS connector names HTTP/1.1 itself (and refuses a config that
    // already names something), and a WebSocket's upgrade needs none.
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| tls_error("TLS", error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A listener for [`AcpServer::serve_tls_until`](crate::AcpServer::serve_tls_until): it
/// accepts TCP connections and completes their TLS handshakes, several at once (at most
/// [`MAX_HANDSHAKES`], each within [`HANDSHAKE_TIMEOUT`]), so a slow client does not hold
/// up the others. A failed handshake is dropped, and logged at DEBUG.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    address: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Serves TLS on `tcp` with the certificate chain `certificates` and its `key` (DER;
    /// PEM files are read with `rustls::pki_types::pem`). Must be called in a tokio runtime.
    pub fn new(
        tcp: TcpListener,
        certificates: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsListener, Error> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| tls_error("TLS", error))?
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .map_err(|error| tls_error("the certificate or key cannot be used", error))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let address = tcp.local_addr()?;
        let (handshaken, accepted) = mpsc::channel(MAX_HANDSHAKES);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal_error("a TlsListener needs a tokio runtime"))?
            .spawn(async move {
                loop {
                    let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
                        return;
                    };
                    let (stream, peer) = match tcp.accept().await {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // Out of file descriptors, say: wait a moment rather than spin.
                            tracing::debug!(%error, "accepting a TCP connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let (acceptor, handshaken) = (acceptor.clone(), handshaken.clone());
                    tokio::spawn(async move {
                        let shaking =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                        match shaking.await {
                            Ok(Ok(tls)) => {
                                drop(permit);
                                let _ = handshaken.send((tls, peer)).await;
                            }
                            Ok(Err(error)) => {
                                tracing::debug!(%error, %peer, "a TLS handshake failed");
                            }
                            Err(_) => tracing::debug!(%peer, "a TLS handshake took too long"),
                        }
                    });
                }
            });
        Ok(TlsListener {
            accepted,
            address,
            accepting,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.address)
    }
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}
