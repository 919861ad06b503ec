//! Reading a PodAutoscaler's metric sources, one `MetricReading` (or why not) per source:
//!
//! - `pod`: every ready pod's endpoint `protocolType://podIP:port/path` (Prometheus text),
//!   the metric summed over the pods that answered;
//! - `resource`: metrics.k8s.io — `cpu` as percent of the pod's requests, `memory` in MiB,
//!   summed over the ready pods that have both usage and (for cpu) requests;
//! - `custom` (the custom metrics API, per pod) and `external` / `domain` (the external
//!   metrics API, or the HTTP `endpoint` when given, as Prometheus text) — one value for
//!   the whole target.
//!
//! A source that cannot be read is an `Err` with the reason; the strategy then never
//! scales down (seed 004: a metrics failure never shrinks the target).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::ResourceExt;
use prescale_api::podautoscaler::{MetricSource, MetricSourceType, ProtocolType};
use prescale_autoscale::MetricReading;

use super::prom_text::sum_of;
use crate::metrics_api::{api_get, encode, values_of};

/// How long one scrape or metrics API call may take.
pub use crate::metrics_api::READ_TIMEOUT;

/// Where the sources of one PodAutoscaler are read.
pub struct Reader<'a> {
    pub client: &'a Client,
    pub http: &'a reqwest::Client,
    pub namespace: &'a str,
    /// The target's ready pods.
    pub pods: &'a [Arc<Pod>],
    /// The target's `status.selector` (for the metrics APIs' label selectors).
    pub selector: &'a str,
}

fn scheme(p: Option<ProtocolType>) -> &'static str {
    match p {
        Some(ProtocolType::Https) => "https",
        _ => "http",
    }
}

fn path_of(source: &MetricSource) -> String {
    let path = source.path.as_deref().unwrap_or("metrics");
    format!("/{}", path.trim_start_matches('/'))
}

impl Reader<'_> {
    /// One reading per source, in the sources' order.
    pub async fn read_all(&self, sources: &[MetricSource]) -> Vec<Result<MetricReading, String>> {
        // metrics.k8s.io is listed once for all resource sources.
        let usage = if sources
            .iter()
            .any(|s| s.metric_source_type == MetricSourceType::Resource)
        {
            Some(self.pod_usage().await)
        } else {
            None
        };
        let mut out = Vec::with_capacity(sources.len());
        for source in sources {
            let reading = match source.metric_source_type.normalized() {
                MetricSourceType::Pod => self.scrape_pods(source).await,
                MetricSourceType::Resource => match &usage {
                    Some(Ok(u)) => self.resource(source, u),
                    Some(Err(e)) => Err(e.clone()),
                    None => Err("metrics.k8s.io was not read".into()),
                },
                MetricSourceType::Custom => self.custom(source).await,
                _ => match &source.endpoint {
                    Some(endpoint) => self.endpoint(source, endpoint).await,
                    None => self.external(source).await,
                },
            };
            out.push(reading);
        }
        out
    }

    async fn get_text(&self, url: &str) -> Result<String, String> {
        let response = self
            .http
            .get(url)
            .timeout(READ_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        response.text().await.map_err(|e| format!("{url}: {e}"))
    }

    async fn scrape_pods(&self, source: &MetricSource) -> Result<MetricReading, String> {
        let port = source.port.as_deref().unwrap_or("80");
        let path = path_of(source);
        let metric = &source.target_metric;
        let scrapes = self.pods.iter().filter_map(|p| {
            let ip = p.status.as_ref()?.pod_ip.clone()?;
            let url = format!("{}://{ip}:{port}{path}", scheme(source.protocol_type));
            let pod = p.name_any();
            Some(async move {
                let text = self.get_text(&url).await?;
                sum_of(&text, metric)
                    .ok_or_else(|| format!("pod {pod} serves no sample of {metric} at {url}"))
            })
        });
        let results = futures::future::join_all(scrapes).await;
        let mut total = 0.0;
        let mut pods = 0;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(v) => {
                    total += v;
                    pods += 1;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (pods, first_error) {
            (0, Some(e)) => Err(format!("no ready pod answered: {e}")),
            (0, None) => Err("the target has no ready pod with an IP to scrape".into()),
            _ => Ok(MetricReading { total, pods }),
        }
    }

    /// Per pod name, each container's (usage cpu cores, usage memory bytes).
    async fn pod_usage(&self) -> Result<BTreeMap<String, (f64, f64)>, String> {
        let path = format!(
            "/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods?labelSelector={}",
            self.namespace,
            encode(self.selector)
        );
        let list = api_get(self.client, &path, "metrics.k8s.io").await?;
        let mut usage = BTreeMap::new();
        for item in list["items"].as_array().into_iter().flatten() {
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            let (mut cpu, mut memory) = (0.0, 0.0);
            for c in item["containers"].as_array().into_iter().flatten() {
                cpu += crate::workload::quantity(&c["usage"]["cpu"]).unwrap_or(0.0);
                memory += crate::workload::quantity(&c["usage"]["memory"]).unwrap_or(0.0);
            }
            usage.insert(name.to_string(), (cpu, memory));
        }
        Ok(usage)
    }

    fn resource(
        &self,
        source: &MetricSource,
        usage: &BTreeMap<String, (f64, f64)>,
    ) -> Result<MetricReading, String> {
        let cpu = source.target_metric == "cpu";
        let mut total = 0.0;
        let mut pods = 0;
        for pod in self.pods {
            let Some(&(used_cpu, used_memory)) = usage.get(&pod.name_any()) else {
                continue;
            };
            if cpu {
                let requested: f64 = pod
                    .spec
                    .iter()
                    .flat_map(|s| &s.containers)
                    .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get("cpu"))
                    .filter_map(|q| prescale_api::quantity::parse(&q.0).ok())
                    .map(|q| q.as_f64())
                    .sum();
                if requested <= 0.0 {
                    return Err(format!(
                        "pod {} has no cpu requests: a cpu target is a percentage of the requests; set resources.requests.cpu on the target's containers",
                        pod.name_any()
                    ));
                }
                total += 100.0 * used_cpu / requested;
            } else {
                total += used_memory / (1024.0 * 1024.0);
            }
            pods += 1;
        }
        if pods == 0 {
            return Err("metrics.k8s.io has no usage for the target's ready pods yet".into());
        }
        Ok(MetricReading { total, pods })
    }

    async fn custom(&self, source: &MetricSource) -> Result<MetricReading, String> {
        let path = format!(
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/{}/pods/*/{}?labelSelector={}",
            self.namespace,
            encode(&source.target_metric),
            encode(self.selector)
        );
        let list = api_get(self.client, &path, "custom.metrics.k8s.io").await?;
        let values = values_of(&list);
        if values.is_empty() {
            return Err(format!(
                "the custom metrics API has no value of {} for the target's pods",
                source.target_metric
            ));
        }
        Ok(MetricReading {
            total: values.iter().sum(),
            pods: values.len() as u32,
        })
    }

    async fn external(&self, source: &MetricSource) -> Result<MetricReading, String> {
        let path = format!(
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/{}/{}",
            self.namespace,
            encode(&source.target_metric)
        );
        let list = api_get(self.client, &path, "external.metrics.k8s.io").await?;
        let values = values_of(&list);
        if values.is_empty() {
            return Err(format!(
                "the external metrics API has no value of {}",
                source.target_metric
            ));
        }
        Ok(MetricReading {
            total: values.iter().sum(),
            pods: 0,
        })
    }

    async fn endpoint(
        &self,
        source: &MetricSource,
        endpoint: &str,
    ) -> Result<MetricReading, String> {
        let url = format!(
            "{}://{}{}",
            scheme(source.protocol_type),
            endpoint.trim_end_matches('/'),
            path_of(source)
        );
        let text = self.get_text(&url).await?;
        let total = sum_of(&text, &source.target_metric)
            .ok_or_else(|| format!("{url} serves no sample of {}", source.target_metric))?;
        Ok(MetricReading { total, pods: 0 })
    }
}
