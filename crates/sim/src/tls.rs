//! Serving the simulated API server over HTTPS: a self-signed certificate for 127.0.0.1
//! and localhost, made at start, whose PEM goes into the kubeconfig as the cluster's CA
//! (`certificate-authority-data`), so kube-rs and kubectl verify the server as they would
//! a real one.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

use crate::{Sim, router};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("making the server certificate: {0}")]
    Certificate(String),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Serves `sim` over HTTPS on `addr`; returns the bound address, the PEM of the
/// certificate (the CA to trust) and the task serving until it is aborted.
pub async fn serve_tls(
    sim: Arc<Sim>,
    addr: SocketAddr,
) -> Result<(SocketAddr, String, tokio::task::JoinHandle<()>), TlsError> {
    let bad = |e: &dyn std::fmt::Display| TlsError::Certificate(e.to_string());
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(|e| bad(&e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(&e))?
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key_pair.serialize_der().into()),
    )
    .map_err(|e| bad(&e))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TlsError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| TlsError::Bind { addr, source })?;
    let app = router(sim);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that fails the handshake (wrong CA) just goes away.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    Ok((bound, cert.pem(), task))
}
