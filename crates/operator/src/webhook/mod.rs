//! prescale's admission webhooks, served over HTTPS by every operator replica:
//!
//! - `pod` / `pod_inputs`: the mutating webhook for pods (CREATE) — new pods of an
//!   autonomous target's workloads start with the recommendation, decided from the
//!   watch-fed cache alone.
//! - `scale`: the mutating webhook for workloads' `scale` subresource (UPDATE) — a write
//!   below an autonomous target's replica floor is raised to it (horizontal), decided
//!   from the cache alone.
//! - `validate`: the validating webhook for AIScaleTargets and ClusterAIScaleTemplates —
//!   the checks of `prescale validate` at `kubectl apply`.
//! - `review`: the endpoints (AdmissionReview in and out) and their metrics.
//! - `configs`: the webhook configurations (failurePolicy Ignore, timeoutSeconds 3,
//!   sideEffects None, system namespaces excluded), for `prescale install` and for
//!   registration by URL.
//! - `certs`: the CA and serving certificate, and when to renew them.
//! - `tls`: the HTTPS listener, whose certificate is swapped on rotation.
//! - `registration`: keeping the certificates in a Secret shared by every replica,
//!   rotating them, and writing the `caBundle` into the configurations.

pub mod certs;
pub mod configs;
pub mod pod;
pub mod pod_inputs;
pub mod registration;
pub mod review;
pub mod scale;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;

/// The mutating webhook's path.
pub const MUTATE_PODS_PATH: &str = "/mutate/pods";
/// The `*/scale` mutating webhook's path.
pub const MUTATE_SCALE_PATH: &str = "/mutate/scale";
/// The validating webhook's path.
pub const VALIDATE_PATH: &str = "/validate/thoras";
/// The Secret (in the operator's namespace) holding the certificates.
pub const CERT_SECRET: &str = "prescale-webhook-tls";
/// The webhook listener's default port; the install's Service port 443 points at it.
pub const LISTEN_PORT: u16 = 9443;
/// The webhook listener's default address (`LISTEN_PORT` on every interface).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9443";
/// The name of the listener's port on the operator's container and Service.
pub const LISTEN_PORT_NAME: &str = "webhook";

/// Who provides the serving certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertSource {
    /// The operator makes a CA and serving certificate, keeps them in `CERT_SECRET`,
    /// rotates them, and writes the caBundle into the webhook configurations.
    SelfSigned,
    /// Something else writes `CERT_SECRET` (`tls.crt`, `tls.key`; e.g. a cert-manager
    /// Certificate) and the caBundle (cert-manager's CA injector); the operator only reads
    /// the Secret and reloads it when it changes.
    External,
}

/// The webhook listener and how it is registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The HTTPS listener's address.
    pub listen: SocketAddr,
    pub certs: CertSource,
    /// Register by URL (an operator running outside the cluster), e.g.
    /// `https://127.0.0.1:9443`; otherwise through the install's Service.
    pub url: Option<String>,
    /// The Service the install creates for the webhooks.
    pub service: String,
    /// How often the Secret is re-read (another replica's rotation, an external renewal)
    /// and the certificate's expiry checked.
    pub refresh: std::time::Duration,
}

impl WebhookConfig {
    pub fn endpoint(&self, namespace: &str) -> configs::Endpoint {
        match &self.url {
            Some(url) => configs::Endpoint::Url(url.clone()),
            None => configs::Endpoint::Service {
                namespace: namespace.to_string(),
                name: self.service.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_listen_is_on_the_install_port() {
        let addr: std::net::SocketAddr = super::DEFAULT_LISTEN.parse().unwrap();
        assert_eq!(addr.port(), super::LISTEN_PORT);
    }
}
