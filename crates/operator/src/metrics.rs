//! The operator's Prometheus metrics: every `prescale_*` series is defined here, once.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// `template` or `target`.
    pub controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub controller: String,
    /// A short, bounded label per error kind (never an object name).
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// `resize`, `evict`, `restart`, `scale_up` (`actuate::Action::kind`).
    pub action: String,
    /// `applied`, `blocked` (a PodDisruptionBudget said 429: retried later), `refused`
    /// (the API server rejected it), `gone` (the object no longer exists), `failed`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    /// `cpu` or `memory`.
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `pods` (mutating) or `validate`.
    pub webhook: String,
    /// `mutated`, `allowed`, `denied`, or why a pod was left unchanged (`webhook::pod::Skip`).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookName {
    pub webhook: String,
}

/// All metrics of one operator process.
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ControllerLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Family<ControllerLabels, Histogram>,
    pub managed_targets: Gauge,
    pub recommendations: Counter,
    pub scale_actions: Family<ActionLabels, Counter>,
    /// Σ recommended / Σ currently requested over managed targets, per resource.
    pub provisioning_ratio: Family<ResourceLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub oom_kills: Counter,
    pub scaling_paused: Gauge,
    /// AdmissionReviews answered, by webhook and outcome.
    pub webhook_requests: Family<WebhookLabels, Counter>,
    /// Containers whose resources the pod webhook set.
    pub webhook_mutations: Counter,
    pub webhook_duration: Family<WebhookName, Histogram>,
    /// AdmissionReviews that could not be read (answered with an error status).
    pub webhook_errors: Family<WebhookName, Counter>,
    /// Memory floors raised after OOM kills.
    pub oom_floor_raises: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("prescale");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let reconcile_duration = Family::<ControllerLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.001, 2.0, 16))) as fn() -> Histogram,
        );
        let managed_targets = Gauge::default();
        let recommendations = Counter::default();
        let scale_actions = Family::<ActionLabels, Counter>::default();
        let provisioning_ratio = Family::default();
        let oom_kills = Counter::default();
        let scaling_paused = Gauge::default();
        let webhook_requests = Family::<WebhookLabels, Counter>::default();
        let webhook_mutations = Counter::default();
        let webhook_duration = Family::<WebhookName, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0001, 2.0, 16))) as fn() -> Histogram,
        );
        let webhook_errors = Family::<WebhookName, Counter>::default();
        let oom_floor_raises = Counter::default();
        registry.register(
            "webhook_requests",
            "AdmissionReviews answered, by webhook and outcome",
            webhook_requests.clone(),
        );
        registry.register(
            "webhook_mutations",
            "Containers whose requests and limits the pod webhook set",
            webhook_mutations.clone(),
        );
        registry.register(
            "webhook_duration_seconds",
            "Time to answer one AdmissionReview",
            webhook_duration.clone(),
        );
        registry.register(
            "webhook_errors",
            "AdmissionReviews that could not be read",
            webhook_errors.clone(),
        );
        registry.register(
            "oom_floor_raises",
            "Memory floors raised after OOM kills (OOM remediation)",
            oom_floor_raises.clone(),
        );
        registry.register("reconciles", "Reconciliations run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciliations that failed, by reason",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconciliation",
            reconcile_duration.clone(),
        );
        registry.register(
            "managed_targets",
            "AIScaleTargets the operator manages",
            managed_targets.clone(),
        );
        registry.register(
            "recommendations",
            "Recommendations written to AIScaleTarget status",
            recommendations.clone(),
        );
        registry.register(
            "scale_actions",
            "Scaling actions carried out on the cluster, by action and result",
            scale_actions.clone(),
        );
        registry.register(
            "provisioning_ratio",
            "Recommended over currently requested resources, summed over managed targets",
            provisioning_ratio.clone(),
        );
        registry.register(
            "oom_kills",
            "OOM kills observed in managed workloads",
            oom_kills.clone(),
        );
        registry.register(
            "scaling_paused",
            "1 while the system-wide pause is on",
            scaling_paused.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            managed_targets,
            recommendations,
            scale_actions,
            provisioning_ratio,
            oom_kills,
            scaling_paused,
            webhook_requests,
            webhook_mutations,
            webhook_duration,
            webhook_errors,
            oom_floor_raises,
        }
    }
}

impl Metrics {
    /// Records one reconcile of `controller` that started at `started`, and its failure
    /// reason (`None`: it succeeded).
    pub fn reconciled(&self, controller: &str, started: std::time::Instant, failure: Option<&str>) {
        let labels = ControllerLabels {
            controller: controller.into(),
        };
        self.reconcile_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        self.reconciles.get_or_create(&labels).inc();
        if let Some(reason) = failure {
            self.failed(controller, reason);
        }
    }

    /// Counts a failure of `controller` by its short `reason`.
    pub fn failed(&self, controller: &str, reason: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                controller: controller.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// Counts one action handed to the actuator, by kind and `Applied::label` (or `failed`).
    pub fn scale_action(&self, action: &str, result: &str) {
        self.scale_actions
            .get_or_create(&ActionLabels {
                action: action.into(),
                result: result.into(),
            })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_carries_prefixed_series() {
        let m = Metrics::default();
        m.reconciles
            .get_or_create(&ControllerLabels {
                controller: "template".into(),
            })
            .inc();
        m.scaling_paused.set(1);
        let text = m.encode();
        assert!(
            text.contains("prescale_reconciles_total{controller=\"template\"} 1"),
            "{text}"
        );
        assert!(text.contains("prescale_scaling_paused 1"), "{text}");
        assert!(text.contains("# EOF"), "{text}");
    }
}
