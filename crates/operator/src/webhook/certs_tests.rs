use std::sync::Arc;

use jiff::{Timestamp, ToSpan};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

use super::*;
use crate::webhook::tls::ServingCert;

fn names() -> Vec<String> {
    serving_names("prescale-operator", "prescale-system", &[])
}

/// Handshakes check validity against the real clock, so certificates are issued on it.
fn now() -> Timestamp {
    Timestamp::now()
}

fn replaced(r: Renewal) -> CertBundle {
    match r {
        Renewal::Replace { bundle, .. } => bundle,
        Renewal::Keep { .. } => panic!("expected a replacement"),
    }
}

/// A TLS handshake between a server presenting `bundle`'s serving certificate and a
/// client trusting only its `ca.crt`, for the server name `name`.
async fn handshake(bundle: &CertBundle, name: &str) -> Result<(), String> {
    let serving = Arc::new(ServingCert::default());
    let (cert, key) = bundle.serving().unwrap();
    serving.set(cert, key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(serving);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(bundle.ca_bundle().unwrap().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let server_side = tokio::spawn(async move { acceptor.accept(a).await.map(drop) });
    let name = ServerName::try_from(name.to_string()).unwrap();
    let result = connector
        .connect(name, b)
        .await
        .map(drop)
        .map_err(|e| e.to_string());
    let _ = server_side.await;
    result
}

#[tokio::test]
async fn the_serving_certificate_chains_to_the_ca_for_every_name() {
    let bundle = replaced(renew(None, &names(), now()).unwrap());
    for name in [
        "prescale-operator.prescale-system.svc",
        "127.0.0.1",
        "localhost",
    ] {
        handshake(&bundle, name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(handshake(&bundle, "elsewhere.example.com").await.is_err());
    let other = replaced(renew(None, &names(), now()).unwrap());
    let mut mixed = bundle.clone();
    mixed.0.insert(CA_CRT.into(), other.0[CA_CRT].clone());
    assert!(
        handshake(&mixed, "127.0.0.1").await.is_err(),
        "a different CA does not trust it"
    );
}

#[tokio::test]
async fn kept_until_close_to_expiry_then_renewed_with_the_same_ca() {
    let t0 = now();
    let bundle = replaced(renew(None, &names(), t0).unwrap());
    match renew(Some(&bundle), &names(), t0 + 24.hours()).unwrap() {
        Renewal::Keep { until } => {
            assert_eq!(
                until,
                t0 + ((SERVING_DAYS - RENEW_BEFORE_DAYS) * 24).hours()
            )
        }
        other => panic!("{other:?}"),
    }
    let later = t0 + ((SERVING_DAYS - RENEW_BEFORE_DAYS + 1) * 24).hours();
    let renewed = replaced(renew(Some(&bundle), &names(), later).unwrap());
    assert_eq!(
        renewed.0[CA_CRT], bundle.0[CA_CRT],
        "the CA (caBundle) is kept"
    );
    assert_ne!(renewed.0[TLS_CRT], bundle.0[TLS_CRT]);
    // A certificate about to expire, renewed today: the new one chains to the same CA.
    let today = Timestamp::now();
    let mut old = replaced(renew(None, &names(), today).unwrap());
    old.0
        .insert(TLS_NOT_AFTER.into(), (today + 240.hours()).to_string());
    let renewed = replaced(renew(Some(&old), &names(), today).unwrap());
    assert_eq!(renewed.0[CA_CRT], old.0[CA_CRT]);
    assert_ne!(renewed.0[TLS_CRT], old.0[TLS_CRT]);
    handshake(&renewed, "127.0.0.1").await.unwrap();
}

#[tokio::test]
async fn new_names_or_an_unreadable_secret_are_reissued() {
    let bundle = replaced(renew(None, &names(), now()).unwrap());
    let with_host = serving_names("prescale-operator", "prescale-system", &["10.0.0.7".into()]);
    let renewed = replaced(renew(Some(&bundle), &with_host, now()).unwrap());
    handshake(&renewed, "10.0.0.7").await.unwrap();
    let mut broken = bundle.clone();
    broken.0.remove(TLS_KEY);
    let fixed = replaced(renew(Some(&broken), &names(), now()).unwrap());
    handshake(&fixed, "127.0.0.1").await.unwrap();
}

#[tokio::test]
async fn an_expiring_ca_is_replaced_and_the_old_one_still_trusted() {
    let today = Timestamp::now();
    let mut bundle = replaced(renew(None, &names(), today).unwrap());
    bundle
        .0
        .insert(CA_NOT_AFTER.into(), (today + 2400.hours()).to_string());
    let renewed = replaced(renew(Some(&bundle), &names(), today).unwrap());
    assert_ne!(renewed.0[CA_KEY], bundle.0[CA_KEY]);
    let old_ca = bundle.0[CA_CRT].trim();
    assert!(
        renewed.0[CA_CRT].contains(old_ca),
        "the old CA stays in the bundle"
    );
    assert_eq!(renewed.0[CA_CRT].matches("BEGIN CERTIFICATE").count(), 2);
    handshake(&renewed, "127.0.0.1").await.unwrap();
}
