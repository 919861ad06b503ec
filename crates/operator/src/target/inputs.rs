//! What a target's pass reads besides the target itself: the pod templates (for
//! selectors), each workload's requests and replicas, the usage history from the store,
//! and how far the Prometheus backfill has got.

use std::collections::{BTreeMap, HashMap};

use kube::api::{Api, ListParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, ResourceExt};
use prescale_store::{Metric, SeriesKey};

use super::controller::{TargetContext, parse_cpu};
use super::suggest::ContainerHistory;
use crate::template::plan::WorkloadView;

/// (workload `kind/name`, container) → (cpu request, memory request, replicas).
type Requests = HashMap<(String, String), (Option<f64>, Option<f64>, u32)>;

/// How far back forecasts read history.
const HISTORY_WINDOW_SECS: i64 = 14 * 86_400;

/// Pod-template labels of every workload, keyed `namespace/kind/name` (for selectors).
pub(super) async fn pod_template_labels(
    client: &Client,
    scope: &crate::scope::Scope,
) -> Result<HashMap<String, BTreeMap<String, String>>, kube::Error> {
    let mut out = HashMap::new();
    for (kind, plural) in [
        ("Deployment", "deployments"),
        ("StatefulSet", "statefulsets"),
    ] {
        let gvk = GroupVersionKind::gvk("apps", "v1", kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        let mut items = vec![];
        for api in scope.dynamic_apis(client, &resource) {
            items.extend(api.list(&ListParams::default()).await?.items);
        }
        for o in items {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(o.data["spec"]["template"]["metadata"]["labels"].clone())
                    .unwrap_or_default();
            out.insert(
                format!(
                    "{}/{kind}/{}",
                    o.namespace().unwrap_or_default(),
                    o.name_any()
                ),
                labels,
            );
        }
    }
    Ok(out)
}

/// Requests and replicas of each container of each workload, from the pod template.
pub(super) async fn workloads_requests(client: &Client, workloads: &[&WorkloadView]) -> Requests {
    let mut out = HashMap::new();
    for w in workloads {
        let (group, plural) = match w.kind.as_str() {
            "Deployment" => ("apps", "deployments"),
            "StatefulSet" => ("apps", "statefulsets"),
            _ => ("argoproj.io", "rollouts"),
        };
        let version = if group == "apps" { "v1" } else { "v1alpha1" };
        let gvk = GroupVersionKind::gvk(group, version, &w.kind);
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            &w.namespace,
            &ApiResource::from_gvk_with_plural(&gvk, plural),
        );
        let Ok(obj) = api.get(&w.name).await else {
            continue;
        };
        let replicas = obj.data["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
        for c in obj.data["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let get = |r: &str| {
                c["resources"]["requests"][r]
                    .as_str()
                    .and_then(parse_cpu)
                    .or_else(|| c["resources"]["requests"][r].as_f64())
            };
            out.insert(
                (
                    format!("{}/{}", w.kind, w.name),
                    c["name"].as_str().unwrap_or_default().to_string(),
                ),
                (get("cpu"), get("memory"), replicas),
            );
        }
    }
    out
}

/// Starts the backfill of workloads seen for the first time; the days backfilled so far
/// (the least over the target's workloads: what every one of them has).
pub(super) fn backfilled_days(ctx: &TargetContext, workloads: &[&WorkloadView]) -> Option<f64> {
    let backfill = ctx.backfill.as_ref()?;
    let now = jiff::Timestamp::now().as_second();
    let mut days: Option<f64> = None;
    for w in workloads {
        backfill.start(&w.namespace, &w.kind, &w.name, now);
        let d = backfill
            .progress(&w.namespace, &w.kind, &w.name)
            .map_or(0.0, |p| p.days());
        days = Some(days.map_or(d, |m| m.min(d)));
    }
    days.map(|d| (d * 100.0).round() / 100.0)
}

pub(super) fn histories(
    ctx: &TargetContext,
    workloads: &[&WorkloadView],
    requests: &Requests,
    now: i64,
) -> Result<Vec<ContainerHistory>, prescale_store::StoreError> {
    let mut out = vec![];
    for w in workloads {
        let id = format!("{}/{}", w.kind, w.name);
        let mut containers: Vec<String> = requests
            .keys()
            .filter(|(k, _)| *k == id)
            .map(|(_, c)| c.clone())
            .collect();
        containers.sort();
        for container in containers {
            let key = |metric| SeriesKey {
                namespace: w.namespace.clone(),
                kind: w.kind.clone(),
                workload: w.name.clone(),
                container: container.clone(),
                metric,
            };
            let (cpu_request, memory_request, replicas) = requests
                .get(&(id.clone(), container.clone()))
                .copied()
                .unwrap_or((None, None, 1));
            out.push(ContainerHistory {
                workload: id.clone(),
                container: container.clone(),
                cpu: ctx
                    .store
                    .read(&key(Metric::Cpu), now - HISTORY_WINDOW_SECS, now + 1)?,
                memory: ctx
                    .store
                    .read(&key(Metric::Memory), now - HISTORY_WINDOW_SECS, now + 1)?,
                cpu_request,
                memory_request,
                replicas,
            });
        }
    }
    Ok(out)
}
