//! Backfill from Prometheus (`--prometheus-url`): when a workload is enrolled, its last N
//! days of CPU and memory usage — and of its HPA's Pods, Object and External metrics
//! where Prometheus holds them (`promql::custom_query`) — are read from Prometheus into
//! the history store, so a forecast is useful on the first day. It runs in its own task, newest data first, and
//! retries with backoff while Prometheus is down — live collection never waits for it.

pub mod prometheus;
pub mod promql;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prescale_store::{HistoryStore, Metric, SeriesKey};

use self::prometheus::Prometheus;

#[derive(Debug, Clone)]
pub struct BackfillConfig {
    /// How far back to read.
    pub days: u32,
    /// Seconds between points (the collector's interval).
    pub step_secs: i64,
    /// Points per series per query (Prometheus refuses more than 11,000).
    pub max_points: i64,
    /// First retry delay; it doubles up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for BackfillConfig {
    fn default() -> Self {
        BackfillConfig {
            days: 14,
            step_secs: 15,
            max_points: promql::MAX_POINTS,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// Where one workload's backfill stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// `covered_secs` of `total_secs` are in the store.
    Running {
        covered_secs: i64,
        total_secs: i64,
    },
    /// The last query failed; it is retried after a delay.
    Retrying {
        covered_secs: i64,
        attempt: u32,
        error: String,
    },
    Done {
        covered_secs: i64,
        samples: usize,
    },
}

impl Progress {
    /// Days of history the backfill has put in the store so far.
    pub fn days(&self) -> f64 {
        let secs = match self {
            Progress::Running { covered_secs, .. }
            | Progress::Retrying { covered_secs, .. }
            | Progress::Done { covered_secs, .. } => *covered_secs,
        };
        secs as f64 / 86_400.0
    }
}

/// A workload: namespace, kind, name.
type WorkloadId = (String, String, String);

pub struct Backfill {
    prometheus: Prometheus,
    store: Arc<dyn HistoryStore>,
    config: BackfillConfig,
    progress: Mutex<HashMap<WorkloadId, Progress>>,
}

impl Backfill {
    pub fn new(
        prometheus: Prometheus,
        store: Arc<dyn HistoryStore>,
        config: BackfillConfig,
    ) -> Arc<Self> {
        Arc::new(Backfill {
            prometheus,
            store,
            config,
            progress: Mutex::default(),
        })
    }

    /// Starts the backfill of a workload up to `now` (unix seconds), with `custom` —
    /// (history id, query) of its HPA's other metrics (`promql::custom_query`) — unless one
    /// was started before in this process.
    pub fn start(
        self: &Arc<Self>,
        namespace: &str,
        kind: &str,
        name: &str,
        custom: Vec<(String, String)>,
        now: i64,
    ) {
        let id = (namespace.to_string(), kind.to_string(), name.to_string());
        {
            let mut progress = self.progress_map();
            if progress.contains_key(&id) {
                return;
            }
            progress.insert(
                id.clone(),
                Progress::Running {
                    covered_secs: 0,
                    total_secs: self.config.days as i64 * 86_400,
                },
            );
        }
        let this = self.clone();
        tokio::spawn(async move { this.run(id, custom, now).await });
    }

    pub fn progress(&self, namespace: &str, kind: &str, name: &str) -> Option<Progress> {
        self.progress_map()
            .get(&(namespace.to_string(), kind.to_string(), name.to_string()))
            .cloned()
    }

    fn progress_map(&self) -> std::sync::MutexGuard<'_, HashMap<WorkloadId, Progress>> {
        // Plain data: a panic elsewhere cannot leave it half-written.
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, id: &WorkloadId, p: Progress) {
        self.progress_map().insert(id.clone(), p);
    }

    /// Runs `op` until it succeeds, with doubling delays; progress says why it waits.
    async fn retrying<T, E, Fut>(
        &self,
        id: &WorkloadId,
        covered: i64,
        mut op: impl FnMut() -> Fut,
    ) -> T
    where
        E: std::fmt::Display,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut attempt = 0u32;
        loop {
            match op().await {
                Ok(v) => return v,
                Err(e) => {
                    attempt += 1;
                    let (ns, kind, name) = id;
                    tracing::warn!(namespace = %ns, kind = %kind, name = %name, attempt, error = %e, "backfill step failed; retrying");
                    self.set(
                        id,
                        Progress::Retrying {
                            covered_secs: covered,
                            attempt,
                            error: e.to_string(),
                        },
                    );
                    let delay = self
                        .config
                        .retry_base
                        .saturating_mul(1 << attempt.min(16))
                        .min(self.config.retry_max);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn run(self: Arc<Self>, id: WorkloadId, custom: Vec<(String, String)>, now: i64) {
        let (ns, kind, name) = &id;
        let c = &self.config;
        let total = c.days as i64 * 86_400;
        // (metric, query, the history's container: `None` for each series' `container`).
        let queries: Vec<(Metric, String, Option<String>)> =
            promql::queries(ns, kind, name, c.step_secs)
                .into_iter()
                .map(|(metric, query)| (metric, query, None))
                .chain(
                    custom
                        .into_iter()
                        .map(|(id, query)| (Metric::ScalingMetric, query, Some(id))),
                )
                .collect();
        let mut samples = 0;
        let mut covered = 0;
        for (start, end) in promql::chunks(now - total, now, c.step_secs, c.max_points) {
            for (metric, query, fixed) in &queries {
                let series = self
                    .retrying(&id, covered, || {
                        self.prometheus.query_range(query, start, end, c.step_secs)
                    })
                    .await;
                let batch: Arc<Vec<_>> = Arc::new(
                    series
                        .into_iter()
                        .filter_map(|s| {
                            let container = fixed
                                .clone()
                                .or_else(|| s.labels.get("container").cloned())?;
                            Some((container, s.samples))
                        })
                        .flat_map(|(container, points)| {
                            let key = SeriesKey {
                                namespace: ns.clone(),
                                kind: kind.clone(),
                                workload: name.clone(),
                                container,
                                metric: *metric,
                            };
                            points.into_iter().map(move |p| (key.clone(), p))
                        })
                        .collect(),
                );
                samples += batch.len();
                // A store that fails (a database restarting) is waited for like Prometheus.
                self.retrying(&id, covered, || {
                    let (store, batch) = (self.store.clone(), batch.clone());
                    async move {
                        match tokio::task::spawn_blocking(move || store.append(&batch)).await {
                            Ok(result) => result.map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                })
                .await;
            }
            covered = now - start;
            self.set(
                &id,
                Progress::Running {
                    covered_secs: covered,
                    total_secs: total,
                },
            );
        }
        tracing::info!(namespace = %ns, kind = %kind, name = %name, samples, days = c.days, "backfill from Prometheus done");
        self.set(
            &id,
            Progress::Done {
                covered_secs: covered,
                samples,
            },
        );
    }
}
