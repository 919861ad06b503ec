//! The HPA strategy's HorizontalPodAutoscaler: name, owner, bounds, metrics and behaviour as
//! AIBrix builds them, and every one accepted by the real API server (dry run).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, PostParams};
use prescale_api::manifest::parse_documents;
use prescale_api::podautoscaler::{
    PodAutoscaler, annotations, effective_bounds, scaling_parameters,
};
use prescale_autoscale::hpa::{HpaError, build_hpa, hpa_name};
use prescale_testkit::{TestNamespace, real_client, real_kubeconfig};

fn pa(yaml: &str) -> PodAutoscaler {
    let mut pa: PodAutoscaler =
        serde_json::from_value(parse_documents(yaml).unwrap().remove(0)).unwrap();
    pa.metadata.uid = Some("0b9a1f6e-6d1e-4c59-9a57-4c7f3f2d6a10".into());
    pa
}

fn build(pa: &PodAutoscaler) -> Result<HorizontalPodAutoscaler, HpaError> {
    let annotations = pa.metadata.annotations.clone().unwrap_or_default();
    let parameters = scaling_parameters(&annotations, &pa.spec).parameters;
    let now: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
    build_hpa(pa, &parameters, &effective_bounds(&pa.spec, now).unwrap())
}

const AIBRIX_HPA: &str = "apiVersion: autoscaling.aibrix.ai/v1alpha1\nkind: PodAutoscaler\nmetadata:\n  name: deepseek-r1-distill-llama-8b-hpa\n  namespace: default\n  labels:\n    app.kubernetes.io/name: aibrix\nspec:\n  scalingStrategy: HPA\n  minReplicas: 1\n  maxReplicas: 10\n  metricsSources:\n    - metricSourceType: pod\n      protocolType: http\n      port: '8000'\n      path: /metrics\n      targetMetric: kv_cache_usage_perc\n      targetValue: '0.5'\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: deepseek-r1-distill-llama-8b\n";

#[test]
fn aibrixs_hpa_sample_becomes_an_owned_hpa() {
    let hpa = build(&pa(AIBRIX_HPA)).unwrap();
    let json = serde_json::to_value(&hpa).unwrap();
    assert_eq!(
        json["metadata"]["name"],
        "deepseek-r1-distill-llama-8b-hpa-hpa"
    );
    assert_eq!(
        json["metadata"]["labels"]["app.kubernetes.io/name"],
        "aibrix"
    );
    let owner = &json["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "PodAutoscaler");
    assert_eq!(owner["apiVersion"], "autoscaling.aibrix.ai/v1alpha1");
    assert_eq!(owner["controller"], true);
    let spec = &json["spec"];
    assert_eq!(spec["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        (spec["minReplicas"].as_i64(), spec["maxReplicas"].as_i64()),
        (Some(1), Some(10))
    );
    assert_eq!(spec["metrics"][0]["type"], "Pods");
    assert_eq!(
        spec["metrics"][0]["pods"]["metric"]["name"],
        "kv_cache_usage_perc"
    );
    assert_eq!(
        spec["metrics"][0]["pods"]["target"]["averageValue"], "0.5",
        "not truncated to 1"
    );
    // AIBrix's defaults: no scale-up stabilisation, 300 s down; +100 % up, −50 % down a minute.
    let up = &spec["behavior"]["scaleUp"];
    let down = &spec["behavior"]["scaleDown"];
    assert_eq!(up["stabilizationWindowSeconds"], 0);
    assert_eq!(down["stabilizationWindowSeconds"], 300);
    assert_eq!(
        (
            up["policies"][0]["value"].as_i64(),
            up["selectPolicy"].as_str()
        ),
        (Some(100), Some("Max"))
    );
    assert_eq!(
        (
            down["policies"][0]["value"].as_i64(),
            down["selectPolicy"].as_str()
        ),
        (Some(50), Some("Min"))
    );
    assert_eq!(down["policies"][0]["periodSeconds"], 60);
}

#[test]
fn resources_external_metrics_and_annotations_map_as_aibrix_maps_them() {
    let yaml = AIBRIX_HPA
        .replace(
            "  labels:\n    app.kubernetes.io/name: aibrix\n",
            &format!(
                "  annotations:\n    {}: '3'\n    {}: '1'\n    {}: 30s\n    {}: 10m\n",
                annotations::MAX_SCALE_UP_RATE,
                annotations::MAX_SCALE_DOWN_RATE,
                annotations::SCALE_UP_COOLDOWN_WINDOW,
                annotations::SCALE_DOWN_COOLDOWN_WINDOW
            ),
        )
        .replace("  minReplicas: 1\n", "  minReplicas: 0\n")
        .replace(
            "    - metricSourceType: pod\n      protocolType: http\n      port: '8000'\n      path: /metrics\n      targetMetric: kv_cache_usage_perc\n      targetValue: '0.5'\n",
            "    - {metricSourceType: resource, targetMetric: cpu, targetValue: '50'}\n    - {metricSourceType: resource, targetMetric: memory, targetValue: '512'}\n    - {metricSourceType: external, targetMetric: queue_depth, targetValue: '30'}\n",
        );
    let hpa = build(&pa(&yaml)).unwrap();
    let json = serde_json::to_value(&hpa).unwrap();
    let spec = &json["spec"];
    assert!(
        spec.get("minReplicas").is_none(),
        "a minimum of 0 is left to the HPA's default"
    );
    assert_eq!(
        spec["metrics"][0]["resource"]["target"]["averageUtilization"],
        50
    );
    assert_eq!(
        spec["metrics"][1]["resource"]["target"]["averageValue"],
        "512Mi"
    );
    assert_eq!(spec["metrics"][2]["type"], "External");
    assert_eq!(
        spec["metrics"][2]["external"]["target"]["averageValue"],
        "30"
    );
    let behavior = &spec["behavior"];
    assert_eq!(behavior["scaleUp"]["stabilizationWindowSeconds"], 30);
    assert_eq!(behavior["scaleUp"]["policies"][0]["value"], 200);
    assert_eq!(behavior["scaleDown"]["stabilizationWindowSeconds"], 600);
    assert_eq!(
        behavior["scaleDown"]["selectPolicy"], "Disabled",
        "a rate of 1 forbids scale-down"
    );
    assert!(behavior["scaleDown"].get("policies").is_none());
}

#[test]
fn what_an_hpa_cannot_express_is_refused_with_its_path() {
    let yaml = AIBRIX_HPA.replace(
        "    - metricSourceType: pod\n      protocolType: http\n      port: '8000'\n      path: /metrics\n",
        "    - metricSourceType: external\n      endpoint: optimizer.example.com:8080\n      protocolType: http\n      path: /metrics\n",
    );
    let e = build(&pa(&yaml)).unwrap_err();
    assert!(e.to_string().starts_with("spec.metricsSources[0]:"), "{e}");
    let long = "a".repeat(250);
    assert!(matches!(hpa_name(&long), Err(HpaError::NameTooLong { .. })));
    let mut no_uid = pa(AIBRIX_HPA);
    no_uid.metadata.uid = None;
    assert!(
        build(&no_uid)
            .unwrap_err()
            .to_string()
            .contains("metadata.uid")
    );
}

#[test]
fn the_bounds_in_force_go_into_the_hpa() {
    let yaml = AIBRIX_HPA.replace(
        "  metricsSources:\n",
        "  schedules:\n  - {name: monday, daysOfWeek: [Mon], startTime: '11:00', endTime: '13:00', minReplicas: 4, maxReplicas: 12}\n  metricsSources:\n",
    );
    let hpa = build(&pa(&yaml)).unwrap();
    let spec = hpa.spec.unwrap();
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(4), 12));
}

/// Every HPA built from the valid PodAutoscaler fixtures with the HPA strategy is accepted
/// by a real API server.
#[tokio::test]
async fn the_real_api_server_accepts_the_hpas() {
    let test = "autoscale_hpa_dry_run";
    let Some(client) = real_client(test).await else {
        return;
    };
    let ns = TestNamespace::create(&client, real_kubeconfig(test).unwrap(), "pa-hpa").await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/tests/fixtures/valid");
    let mut built = 0;
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in parse_documents(&text).unwrap() {
            if doc["kind"] != "PodAutoscaler" || doc["spec"]["scalingStrategy"] != "HPA" {
                continue;
            }
            let mut pa: PodAutoscaler = serde_json::from_value(doc).unwrap();
            pa.metadata.namespace = Some(ns.name.clone());
            pa.metadata.uid = Some("0b9a1f6e-6d1e-4c59-9a57-4c7f3f2d6a10".into());
            let hpa = build(&pa).unwrap();
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns.name);
            let params = PostParams {
                dry_run: true,
                ..PostParams::default()
            };
            if let Err(e) = api.create(&params, &hpa).await {
                failures.insert(path.display().to_string(), e.to_string());
            }
            built += 1;
        }
    }
    ns.delete(&client).await;
    assert!(built >= 2, "the fixtures hold HPA examples");
    assert!(failures.is_empty(), "{failures:#?}");
}
