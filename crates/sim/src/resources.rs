//! Reading CPU and memory figures off pod and node objects.

use prescale_api::quantity::parse;
use serde_json::Value;

/// A quantity (string or number) as a float, e.g. bytes for memory.
pub fn quantity(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::String(s) => parse(s).ok().map(|q| q.as_f64()),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// (cpu cores, memory bytes) requested by all containers of a pod.
pub fn pod_requests(pod: &Value) -> (f64, f64) {
    containers(pod).fold((0.0, 0.0), |(c, m), container| {
        let r = container.pointer("/resources/requests");
        (
            c + quantity(r.and_then(|r| r.get("cpu"))).unwrap_or(0.0),
            m + quantity(r.and_then(|r| r.get("memory"))).unwrap_or(0.0),
        )
    })
}

pub fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A container's (request, limit) of one resource, in cores or bytes.
pub fn container_resource(container: &Value, resource: &str) -> (Option<f64>, Option<f64>) {
    let get = |kind: &str| quantity(container.pointer(&format!("/resources/{kind}/{resource}")));
    (get("requests"), get("limits"))
}

/// The pod's QoS class, as the kubelet computes it.
pub fn qos_class(pod: &Value) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for c in containers(pod) {
        for r in ["cpu", "memory"] {
            let (req, lim) = container_resource(c, r);
            any |= req.is_some() || lim.is_some();
            let req = req.or(lim);
            if lim.is_none() || req != lim {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        _ => "Burstable",
    }
}

/// (cpu cores, memory bytes) a node can give to pods.
pub fn node_allocatable(node: &Value) -> (f64, f64) {
    let a = node
        .pointer("/status/allocatable")
        .or_else(|| node.pointer("/status/capacity"));
    (
        quantity(a.and_then(|a| a.get("cpu"))).unwrap_or(f64::INFINITY),
        quantity(a.and_then(|a| a.get("memory"))).unwrap_or(f64::INFINITY),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn qos_classes() {
        let pod = |res: Value| json!({"spec": {"containers": [{"name": "a", "resources": res}]}});
        assert_eq!(qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&pod(json!({"requests": {"cpu": "1"}}))),
            "Burstable"
        );
        assert_eq!(
            qos_class(&pod(
                json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
            )),
            "Guaranteed"
        );
        assert_eq!(
            pod_requests(&pod(json!({"requests": {"cpu": "500m", "memory": "1Ki"}}))),
            (0.5, 1024.0)
        );
    }
}
