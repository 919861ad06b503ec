//! The load of `prescale bench webhook`: pod CREATE AdmissionReviews sent open-loop at a
//! fixed rate over keep-alive HTTPS connections (reqwest's pool) trusting only the
//! webhook's caBundle, and what came back.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

/// The pods to send (namespace, pod JSON), and how often each kind is picked.
pub struct Mix {
    /// Pods of Deployments an autonomous target covers: to be mutated.
    pub covered: Vec<(String, String)>,
    /// Pods of Deployments no target covers: admitted unchanged.
    pub uncovered: Vec<(String, String)>,
    /// Pods without an owner: admitted unchanged.
    pub bare: Vec<(String, String)>,
    pub unchanged_percent: u32,
}

impl Mix {
    /// The `i`th review's pod and whether it should be mutated: every hundred reviews,
    /// `unchanged_percent` of them are unchanged (uncovered and bare taking turns),
    /// spread evenly; each kind cycles through its pods.
    pub fn pick(&self, i: usize) -> (&(String, String), bool) {
        let slot = (i % 100) as u64;
        let percent = u64::from(self.unchanged_percent.min(100));
        // Slot `slot` is unchanged when the count of unchanged slots steps at it.
        let seen = |s: u64| s * percent / 100;
        let unchanged = seen(slot + 1) > seen(slot);
        if !unchanged {
            return (cycle(&self.covered, i), true);
        }
        let nth = (i / 100) * percent as usize + seen(slot) as usize;
        if (nth.is_multiple_of(2) && !self.uncovered.is_empty()) || self.bare.is_empty() {
            (cycle(&self.uncovered, nth / 2), false)
        } else {
            (cycle(&self.bare, nth / 2), false)
        }
    }
}

fn cycle(pods: &[(String, String)], n: usize) -> &(String, String) {
    &pods[n % pods.len()]
}

/// One AdmissionReview v1 request for a pod CREATE in `namespace`, `pod` being JSON.
pub fn review(uid: &str, namespace: &str, pod: &str) -> String {
    format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"{uid}","kind":{{"group":"","version":"v1","kind":"Pod"}},"resource":{{"group":"","version":"v1","resource":"pods"}},"requestKind":{{"group":"","version":"v1","kind":"Pod"}},"requestResource":{{"group":"","version":"v1","resource":"pods"}},"namespace":"{namespace}","operation":"CREATE","userInfo":{{"username":"system:serviceaccount:kube-system:replicaset-controller"}},"object":{pod},"oldObject":null,"dryRun":false,"options":{{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"}}}}}}"#
    )
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Drive {
    pub sent: usize,
    /// Round-trip latencies of the answered reviews, in ms, sorted.
    pub latencies_ms: Vec<f64>,
    pub mutated: usize,
    pub unchanged: usize,
    /// Transport errors, HTTP errors, answers that are not a review for the request.
    pub errors: usize,
    /// Well-formed answers that mutated a pod that should not be, or the reverse.
    pub unexpected: usize,
    pub first_error: Option<String>,
    /// From the first request sent to the last answer.
    pub elapsed: Duration,
}

impl Drive {
    pub fn percentile_ms(&self, q: f64) -> f64 {
        percentile(&self.latencies_ms, q)
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_ms.last().copied().unwrap_or(0.0)
    }

    /// Answered reviews per second of the run.
    pub fn achieved_rate(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// The `q` quantile (nearest rank) of sorted `values`; 0 when empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How one review was answered: Ok(mutated) or why it was not a valid answer.
fn judge(uid: &str, status: reqwest::StatusCode, body: &[u8]) -> Result<bool, String> {
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(body)));
    }
    let answer: Value =
        serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    let response = &answer["response"];
    if response["uid"] != uid {
        return Err("the answer does not carry the request's uid".into());
    }
    if response["allowed"] != true {
        return Err(format!("the pod was refused: {}", response["status"]));
    }
    Ok(response.get("patch").is_some_and(|p| !p.is_null()))
}

/// Sends `rate` reviews a second for `duration` to `url`, each at its scheduled time
/// whatever the earlier ones are doing (open loop), and waits for every answer.
pub async fn drive(
    ca_pem: &[u8],
    url: &str,
    mix: Arc<Mix>,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Drive> {
    // reqwest's rustls needs a process-wide crypto provider (a second install is refused
    // harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .http1_only()
        .pool_idle_timeout(Duration::from_secs(90))
        .timeout(Duration::from_secs(3));
    for cert in reqwest::Certificate::from_pem_bundle(ca_pem).context("the caBundle's PEM")? {
        client = client.add_root_certificate(cert);
    }
    let client = client.build()?;
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        let (client, mix, url) = (client.clone(), mix.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let ((namespace, pod), should_mutate) = mix.pick(i);
            let uid = format!("bench-{i}");
            let body = review(&uid, namespace, pod);
            let sent = std::time::Instant::now();
            let answer = async {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let status = response.status();
                let bytes = response.bytes().await.map_err(|e| format!("{e:?}"))?;
                judge(&uid, status, &bytes)
            }
            .await;
            let ms = sent.elapsed().as_secs_f64() * 1000.0;
            (
                answer.map(|mutated| (mutated, mutated == should_mutate)),
                ms,
            )
        }));
    }
    let mut d = Drive {
        sent: total,
        ..Drive::default()
    };
    for task in tasks {
        let (answer, ms) = task.await?;
        match answer {
            Ok((mutated, expected)) => {
                d.latencies_ms.push(ms);
                if mutated {
                    d.mutated += 1;
                } else {
                    d.unchanged += 1;
                }
                if !expected {
                    d.unexpected += 1;
                }
            }
            Err(e) => {
                d.errors += 1;
                d.first_error.get_or_insert(e);
            }
        }
    }
    d.elapsed = start.elapsed();
    d.latencies_ms.sort_by(f64::total_cmp);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(unchanged_percent: u32) -> Mix {
        let pods = |p: &str| {
            (0..3)
                .map(|i| ("ns".to_string(), format!("{p}{i}")))
                .collect()
        };
        Mix {
            covered: pods("c"),
            uncovered: pods("u"),
            bare: pods("b"),
            unchanged_percent,
        }
    }

    #[test]
    fn the_mix_holds_its_percentages_over_every_hundred() {
        for percent in [0, 1, 20, 50, 99, 100] {
            let m = mix(percent);
            let picks: Vec<_> = (0..1000).map(|i| m.pick(i)).collect();
            let unchanged = picks.iter().filter(|(_, mutate)| !mutate).count();
            assert_eq!(unchanged, percent as usize * 10, "{percent} %");
            let bare = picks
                .iter()
                .filter(|((_, p), _)| p.starts_with('b'))
                .count();
            let uncovered = picks
                .iter()
                .filter(|((_, p), _)| p.starts_with('u'))
                .count();
            assert_eq!(bare + uncovered, unchanged);
            assert!(
                bare.abs_diff(uncovered) <= unchanged / 5 + 1,
                "{bare} bare, {uncovered} uncovered"
            );
            for ((_, p), mutate) in picks {
                assert_eq!(mutate, p.starts_with('c'));
            }
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn a_review_is_an_admission_review_of_a_pod_create() {
        let r: Value = serde_json::from_str(&review("u1", "team-0", r#"{"metadata":{}}"#)).unwrap();
        assert_eq!(r["request"]["uid"], "u1");
        assert_eq!(r["request"]["operation"], "CREATE");
        assert_eq!(r["request"]["namespace"], "team-0");
        assert_eq!(r["request"]["object"], serde_json::json!({"metadata": {}}));
    }

    #[test]
    fn answers_are_judged_by_uid_allowed_and_patch() {
        let ok = reqwest::StatusCode::OK;
        let a = |resp: Value| serde_json::to_vec(&serde_json::json!({"response": resp})).unwrap();
        assert_eq!(
            judge(
                "x",
                ok,
                &a(serde_json::json!({"uid": "x", "allowed": true}))
            ),
            Ok(false)
        );
        assert_eq!(
            judge(
                "x",
                ok,
                &a(serde_json::json!({"uid": "x", "allowed": true, "patch": "W10="}))
            ),
            Ok(true)
        );
        assert!(
            judge(
                "x",
                ok,
                &a(serde_json::json!({"uid": "y", "allowed": true}))
            )
            .is_err()
        );
        assert!(
            judge(
                "x",
                ok,
                &a(serde_json::json!({"uid": "x", "allowed": false}))
            )
            .is_err()
        );
        assert!(judge("x", reqwest::StatusCode::BAD_REQUEST, b"no").is_err());
    }
}
