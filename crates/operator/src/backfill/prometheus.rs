//! A minimal Prometheus HTTP API client: `query_range`, and the parsing of its answer.

use std::collections::BTreeMap;
use std::time::Duration;

use prescale_store::Sample;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error("--prometheus-url {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("Prometheus at {url} did not answer: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Prometheus at {url} refused the query ({kind}): {reason}")]
    Refused {
        url: String,
        kind: String,
        reason: String,
    },
    #[error("Prometheus at {url} answered something that is not a range-query result: {reason}")]
    Malformed { url: String, reason: String },
}

/// One series of a range query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

pub struct Prometheus {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<MatrixSeries>,
}

#[derive(Deserialize)]
struct MatrixSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

impl Prometheus {
    /// A client for the Prometheus at `url` (http or https, with an optional path prefix).
    pub fn new(url: &str) -> Result<Self, PrometheusError> {
        let bad = |reason: &str| PrometheusError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| bad(&format!("{e}; expected e.g. http://prometheus:9090")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        // reqwest's rustls needs a process-wide crypto provider; ring is ours (a second
        // install attempt is refused harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Prometheus {
            base: url.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// `query_range` from `start` to `end` (unix seconds, both included) every `step`.
    pub async fn query_range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<RangeSeries>, PrometheusError> {
        let url = format!("{}/api/v1/query_range", self.base);
        let unreachable = |e: reqwest::Error| PrometheusError::Unreachable {
            url: self.base.clone(),
            reason: error_chain(&e),
        };
        let response = self
            .http
            .post(&url)
            .form(&[
                ("query", query.to_string()),
                ("start", start.to_string()),
                ("end", end.to_string()),
                ("step", step.to_string()),
            ])
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        parse_range(&body).map_err(|e| match e {
            // A proxy's error page is not Prometheus refusing the query.
            PrometheusError::Malformed { reason, .. } if !status.is_success() => {
                PrometheusError::Unreachable {
                    url: self.base.clone(),
                    reason: format!("HTTP {status}: {reason}"),
                }
            }
            PrometheusError::Malformed { reason, .. } => PrometheusError::Malformed {
                url: self.base.clone(),
                reason,
            },
            PrometheusError::Refused { kind, reason, .. } => PrometheusError::Refused {
                url: self.base.clone(),
                kind,
                reason,
            },
            other => other,
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Parses a `query_range` answer. Non-finite values (NaN from a division, ±Inf) are left
/// out: a gap, not a number a forecast could use.
pub fn parse_range(body: &[u8]) -> Result<Vec<RangeSeries>, PrometheusError> {
    let malformed = |reason: String| PrometheusError::Malformed {
        url: String::new(),
        reason,
    };
    let answer: Answer = serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    if answer.status != "success" {
        return Err(PrometheusError::Refused {
            url: String::new(),
            kind: answer.error_type.unwrap_or_else(|| "error".into()),
            reason: answer.error.unwrap_or_default(),
        });
    }
    let data = answer
        .data
        .ok_or_else(|| malformed("no `data` in a successful answer".into()))?;
    if data.result_type != "matrix" {
        return Err(malformed(format!(
            "resultType is {:?}, not \"matrix\"",
            data.result_type
        )));
    }
    Ok(data
        .result
        .into_iter()
        .map(|s| RangeSeries {
            labels: s.metric,
            samples: s
                .values
                .into_iter()
                .filter_map(|(t, v)| {
                    let v: f64 = v.parse().ok()?;
                    v.is_finite().then_some((t.round() as i64, v))
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_answer_becomes_series_without_non_finite_values() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"container":"app"},"values":[[1700000000,"0.25"],[1700000015,"NaN"],[1700000030.0,"0.5"]]}]}}"#;
        let got = parse_range(body).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels["container"], "app");
        assert_eq!(
            got[0].samples,
            vec![(1_700_000_000, 0.25), (1_700_000_030, 0.5)]
        );
    }

    #[test]
    fn refusals_and_garbage_say_what_went_wrong() {
        let refused = br#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}"#;
        let e = parse_range(refused).unwrap_err().to_string();
        assert!(e.contains("bad_data") && e.contains("11,000"), "{e}");
        let e = parse_range(b"<html>502</html>").unwrap_err().to_string();
        assert!(e.contains("not a range-query result"), "{e}");
        let vector = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(
            parse_range(vector)
                .unwrap_err()
                .to_string()
                .contains("vector")
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(Prometheus::new("ftp://x").is_err());
        assert!(Prometheus::new("not a url").is_err());
        assert!(Prometheus::new("http://127.0.0.1:9090/prefix/").is_ok());
    }
}
