//! Starting the webhook listener and keeping its certificate: every replica serves the
//! same certificate, read from the Secret `CERT_SECRET` in the operator's namespace.
//!
//! With `CertSource::SelfSigned` the first replica to start creates the Secret (a CA and a
//! serving certificate, `certs`); a replica that loses the race (409) reads the winner's.
//! Every `refresh` each replica re-reads the Secret, renews the certificate when `certs`
//! says so (an update with the read resourceVersion, so two replicas never both renew:
//! the loser re-reads), swaps it into the listener, and — when the CA bundle changed or
//! at start — applies the webhook configurations with the `caBundle` (server-side apply:
//! the same objects `prescale install` emits, or their URL form with `--webhook-url`).
//! With `CertSource::External` the Secret is only read and nothing else is written.
//!
//! None of this is on the admission path: a webhook request only reads the cache.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};

use super::certs::{self, CertBundle, Renewal};
use super::review::{WebhookState, router};
use super::tls::{ServingCert, TlsError, bind};
use super::{CERT_SECRET, CertSource, WebhookConfig, configs};
use crate::clock::Clock;

/// The field manager of the configurations the operator applies.
pub const FIELD_MANAGER: &str = "prescale-webhook";

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Cert(#[from] certs::CertError),
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
}

fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> WebhookError {
    let what = what.into();
    move |source| WebhookError::Api { what, source }
}

/// The host of a URL such as `https://127.0.0.1:9443/x` (what the certificate must name).
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// Keeps the certificate of one replica: where it lives and what it covers.
struct Keeper {
    secrets: Api<Secret>,
    client: Client,
    namespace: String,
    config: WebhookConfig,
    names: Vec<String>,
    clock: Arc<dyn Clock>,
    serving: Arc<ServingCert>,
    /// The namespaces the operator watches (`None`: all): the webhooks see only those.
    watched: Option<Vec<String>>,
    /// The caBundle last written into the configurations.
    applied_bundle: Option<String>,
    /// The Secret's content last installed in the listener.
    loaded: Option<CertBundle>,
}

fn decode(secret: &Secret) -> CertBundle {
    CertBundle(
        secret
            .data
            .iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
            .collect(),
    )
}

fn encode(bundle: &CertBundle) -> BTreeMap<String, ByteString> {
    bundle
        .0
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
        .collect()
}

impl Keeper {
    /// Reads the Secret, renews what needs renewing (self-signed), and installs the result.
    async fn refresh(&mut self) -> Result<(), WebhookError> {
        let bundle = match self.config.certs {
            CertSource::External => {
                let secret = self
                    .secrets
                    .get(CERT_SECRET)
                    .await
                    .map_err(api_err(format!(
                        "reading Secret {}/{CERT_SECRET}",
                        self.namespace
                    )))?;
                decode(&secret)
            }
            CertSource::SelfSigned => self.ensure_self_signed().await?,
        };
        if self.loaded.as_ref() != Some(&bundle) {
            let (cert, key) = bundle.serving()?;
            self.serving.set(cert, key)?;
            tracing::info!(secret = %CERT_SECRET, "webhook serving certificate loaded");
            self.loaded = Some(bundle.clone());
        }
        if self.config.certs == CertSource::SelfSigned {
            let ca = bundle.ca_bundle()?.to_string();
            if self.applied_bundle.as_deref() != Some(ca.as_str()) {
                self.apply_configurations(&ca).await?;
                self.applied_bundle = Some(ca);
            }
        }
        Ok(())
    }

    /// The Secret's certificates, created or renewed as `certs::renew` decides; a lost race
    /// with another replica re-reads theirs.
    async fn ensure_self_signed(&mut self) -> Result<CertBundle, WebhookError> {
        let what = format!("Secret {}/{CERT_SECRET}", self.namespace);
        for _ in 0..5 {
            let found = self
                .secrets
                .get_opt(CERT_SECRET)
                .await
                .map_err(api_err(format!("reading {what}")))?;
            let bundle = found.as_ref().map(decode);
            let (bundle, why) = match certs::renew(bundle.as_ref(), &self.names, self.clock.now())?
            {
                Renewal::Keep { .. } => return Ok(bundle.unwrap_or_default()),
                Renewal::Replace { bundle, why } => (bundle, why),
            };
            let written = match found {
                None => {
                    let secret = Secret {
                        metadata: kube::api::ObjectMeta {
                            name: Some(CERT_SECRET.into()),
                            labels: Some(
                                [(
                                    "app.kubernetes.io/part-of".to_string(),
                                    "prescale".to_string(),
                                )]
                                .into(),
                            ),
                            ..Default::default()
                        },
                        type_: Some("kubernetes.io/tls".into()),
                        data: Some(encode(&bundle)),
                        ..Default::default()
                    };
                    self.secrets.create(&PostParams::default(), &secret).await
                }
                Some(mut secret) => {
                    secret.data = Some(encode(&bundle));
                    self.secrets
                        .replace(CERT_SECRET, &PostParams::default(), &secret)
                        .await
                }
            };
            match written {
                Ok(_) => {
                    tracing::info!(secret = %CERT_SECRET, why = %why, "webhook certificate issued");
                    return Ok(bundle);
                }
                // Another replica wrote it first: use theirs.
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(e) => return Err(api_err(format!("writing {what}"))(e)),
            }
        }
        Err(WebhookError::Api {
            what: format!("writing {what}"),
            source: kube::Error::Service(
                "other replicas kept changing it; retried at the next refresh".into(),
            ),
        })
    }

    /// Applies both webhook configurations with `ca` as their caBundle.
    async fn apply_configurations(&self, ca: &str) -> Result<(), WebhookError> {
        let endpoint = self.config.endpoint(&self.namespace);
        let r = configs::Registration {
            endpoint: &endpoint,
            namespace: &self.namespace,
            watched: self.watched.as_deref(),
        };
        let labels = crate::install::labels();
        let name = configs::configuration_name(&self.namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mutating = configs::mutating(r, Some(ca), &labels);
        Api::<MutatingWebhookConfiguration>::all(self.client.clone())
            .patch(&name, &params, &Patch::Apply(&mutating))
            .await
            .map_err(api_err(format!(
                "applying MutatingWebhookConfiguration {name}"
            )))?;
        let validating = configs::validating(r, Some(ca), &labels);
        Api::<ValidatingWebhookConfiguration>::all(self.client.clone())
            .patch(&name, &params, &Patch::Apply(&validating))
            .await
            .map_err(api_err(format!(
                "applying ValidatingWebhookConfiguration {name}"
            )))?;
        tracing::info!(configuration = %name, "webhook configurations registered with the caBundle");
        Ok(())
    }
}

/// A running webhook listener; stopped when dropped.
pub struct Webhooks {
    pub addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Binds the listener, loads (or issues) the certificate and registers the webhooks,
/// retrying every few seconds until the certificate is there; then keeps it fresh.
pub async fn start(
    client: Client,
    namespace: &str,
    watched: Option<Vec<String>>,
    config: WebhookConfig,
    state: Arc<WebhookState>,
) -> Result<Webhooks, WebhookError> {
    let serving = Arc::new(ServingCert::default());
    let (addr, serve) = bind(config.listen, serving.clone(), router(state.clone())).await?;
    let extra: Vec<String> = config
        .url
        .as_deref()
        .and_then(url_host)
        .into_iter()
        .collect();
    let mut keeper = Keeper {
        secrets: Api::namespaced(client.clone(), namespace),
        client,
        namespace: namespace.to_string(),
        names: certs::serving_names(&config.service, namespace, &extra),
        config,
        clock: state.clock.clone(),
        serving,
        watched,
        applied_bundle: None,
        loaded: None,
    };
    let keep = async move {
        loop {
            let wait = match keeper.refresh().await {
                Ok(()) => keeper.config.refresh,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook certificate not refreshed; retrying");
                    std::time::Duration::from_secs(5).min(keeper.config.refresh)
                }
            };
            tokio::time::sleep(wait).await;
        }
    };
    tracing::info!(%addr, "serving admission webhooks over HTTPS");
    Ok(Webhooks {
        addr,
        tasks: vec![tokio::spawn(serve), tokio::spawn(keep)],
    })
}

#[cfg(test)]
mod tests {
    use super::url_host;

    #[test]
    fn hosts_of_webhook_urls() {
        assert_eq!(
            url_host("https://127.0.0.1:9443").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            url_host("https://hooks.example.com/x").as_deref(),
            Some("hooks.example.com")
        );
        assert_eq!(url_host("https://[::1]:9443/").as_deref(), Some("::1"));
    }
}
