//! Switching the system-wide pause (seed 002): the one write behind `prescale pause|resume`
//! and the dashboard's Manage Cluster menu, and the one definition of which targets a
//! pause affects. What the ConfigMap holds is `pause`'s business.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use prescale_api::AIScaleTarget;
use prescale_api::mode::Scaling;

use crate::pause::{SYSTEM_CONFIG_MAP, config_map_data};

/// Whether a pause stops this target: one of its directions is autonomous.
pub fn is_autonomous(target: &AIScaleTarget) -> bool {
    [
        target
            .spec
            .horizontal
            .as_ref()
            .and_then(|h| h.mode.as_ref()),
        target.spec.vertical.as_ref().and_then(|v| v.mode.as_ref()),
    ]
    .into_iter()
    .flatten()
    .any(|m| m.scaling() == Some(Scaling::Autonomous))
}

/// How many of `targets` a pause affects (the count the confirmation shows).
pub fn affected<'a>(targets: impl IntoIterator<Item = &'a AIScaleTarget>) -> usize {
    targets.into_iter().filter(|t| is_autonomous(t)).count()
}

/// Writes `scaling-paused: <paused>` into the pause ConfigMap of `namespace`, creating it
/// when missing and keeping its other keys. Idempotent; a conflict is the caller's to retry.
pub async fn set_paused(client: &Client, namespace: &str, paused: bool) -> Result<(), kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let data = config_map_data(paused);
    match api.get_opt(SYSTEM_CONFIG_MAP).await? {
        Some(mut cm) => {
            cm.data.get_or_insert_with(Default::default).extend(data);
            api.replace(SYSTEM_CONFIG_MAP, &PostParams::default(), &cm)
                .await?;
        }
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(SYSTEM_CONFIG_MAP.into()),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            api.create(&PostParams::default(), &cm).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(h: Option<&str>, v: Option<&str>) -> AIScaleTarget {
        let mut spec = serde_json::json!({"model": {
            "forecast_blocks": "15m", "forecast_interval": "15m", "mode": "balanced"}});
        if let Some(m) = h {
            spec["horizontal"] = serde_json::json!({"mode": m});
        }
        if let Some(m) = v {
            spec["vertical"] = serde_json::json!({"mode": m});
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "thoras.ai/v1", "kind": "AIScaleTarget",
            "metadata": {"name": "t", "namespace": "n"}, "spec": spec}))
        .unwrap()
    }

    #[test]
    fn a_target_is_affected_when_either_direction_is_autonomous() {
        let targets = [
            target(Some("autonomous"), None),
            target(None, Some("auto")),
            target(Some("recommendation"), Some("observe")),
            target(None, None),
        ];
        assert_eq!(affected(&targets), 2);
    }
}
