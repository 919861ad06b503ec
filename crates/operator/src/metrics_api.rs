//! Reading the Kubernetes metrics APIs served by adapters — custom.metrics.k8s.io and
//! external.metrics.k8s.io (prometheus-adapter, KEDA) and metrics.k8s.io — by path, with
//! one timeout and one message per failure. The PodAutoscaler's sources
//! (`podautoscaler::readings`) and the horizontal forecast's Pods, Object and External
//! metrics (`horizontal::sampler`) both read through here.

use std::time::Duration;

use kube::Client;
use serde_json::Value;

/// How long one metrics API call may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// GET `path` of metrics API `api` (its group, for messages).
pub async fn api_get(client: &Client, path: &str, api: &str) -> Result<Value, String> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(READ_TIMEOUT, client.request::<Value>(request)).await {
        Err(_) => Err(format!("{api} did not answer within {READ_TIMEOUT:?}")),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(kube::Error::Api(s))) if s.code == 404 || s.code == 503 => Err(format!(
            "{api} is not served (HTTP {}) or has no such metric: install its adapter (e.g. metrics-server, prometheus-adapter) and check the metric's name",
            s.code
        )),
        Ok(Err(e)) => Err(format!("{api}: {e}")),
    }
}

/// The values of a custom/external MetricValueList's items.
pub fn values_of(list: &Value) -> Vec<f64> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| crate::workload::quantity(&i["value"]))
        .collect()
}

/// Percent-encodes what goes into a query string or a path segment.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_metric_names_are_encoded() {
        assert_eq!(
            encode("app=web,tier in (a,b)"),
            "app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
        );
        assert_eq!(
            encode("vllm:num_requests_running"),
            "vllm%3Anum_requests_running"
        );
    }

    #[test]
    fn metric_value_lists_give_their_values() {
        let list = serde_json::json!({"items": [{"value": "500m"}, {"value": "2"}, {"x": 1}]});
        assert_eq!(values_of(&list), vec![0.5, 2.0]);
    }
}
