//! The webhook's HTTPS listener: rustls (ring provider) in front of an axum router, with a
//! certificate that can be swapped while serving (`ServingCert::set`) so a rotated
//! certificate is used by the next handshake without a restart. HTTP/1.1 only: the API
//! server speaks it to webhooks that do not offer HTTP/2.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the serving certificate is not valid PEM: {0}")]
    Pem(String),
    #[error("the serving key is not usable: {0}")]
    Key(String),
    #[error("binding the webhook listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The certificate the listener presents; replaced in place on rotation.
#[derive(Debug, Default)]
pub struct ServingCert(RwLock<Option<Arc<CertifiedKey>>>);

impl ServingCert {
    /// Installs the chain and key (PEM) for every later handshake.
    pub fn set(&self, cert_pem: &str, key_pem: &str) -> Result<(), TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        if chain.is_empty() {
            return Err(TlsError::Pem("no certificate in it".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| TlsError::Key(e.to_string()))?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| TlsError::Key(e.to_string()))?;
        *self.0.write().unwrap_or_else(|e| e.into_inner()) =
            Some(Arc::new(CertifiedKey::new(chain, signing)));
        Ok(())
    }

    pub fn is_set(&self) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

impl ResolvesServerCert for ServingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Binds `addr`; returns the bound address and a future serving `app` over HTTPS with
/// `cert` until it is dropped. Handshakes fail while no certificate is set.
pub async fn bind(
    addr: SocketAddr,
    cert: Arc<ServingCert>,
    app: axum::Router,
) -> Result<
    (
        SocketAddr,
        impl std::future::Future<Output = ()> + Send + 'static,
    ),
    TlsError,
> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TlsError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| TlsError::Bind { addr, source })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Key(e.to_string()))?
    .with_no_client_auth()
    .with_cert_resolver(cert);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    // Connections are served by tasks the serving future owns: dropping it (the operator
    // stopping) closes kept-alive connections too, so the API server's next call fails
    // and the failure policy decides, rather than a stopped operator still answering.
    let serve = async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let tcp = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(e) => {
                        tracing::debug!(error = %e, "webhook accept failed");
                        continue;
                    }
                },
                Some(_) = connections.join_next() => continue,
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, app) = (acceptor.clone(), app.clone());
            connections.spawn(async move {
                // A client that fails the handshake (it does not trust us) just goes away.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    };
    Ok((bound, serve))
}
