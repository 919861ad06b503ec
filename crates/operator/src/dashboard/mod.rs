//! The dashboard: pages and a JSON API over what the operator already holds in memory —
//! the shared cache (targets, workloads, pods, the pause, the targets' Events), the
//! history store (usage) and its own timeline of forecasts and applied values. A
//! page view makes no request to the API server; only a write (pause / resume) does,
//! after TokenReview and SubjectAccessReview (`auth`).
//!
//! Server-rendered HTML and SVG (`pages`, `detail`, `chart`), no JavaScript, the
//! stylesheet embedded: it works air-gapped. `routes` serves the pages, `api` the JSON.

mod api;
pub mod auth;
pub mod chart;
pub mod detail;
pub mod events;
pub mod html;
pub mod model;
mod pages;
mod routes;
pub mod snapshot;
pub mod timeline;

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use kube::Client;
use prescale_store::HistoryStore;
use tokio::task::JoinHandle;

use self::auth::{Refusal, Sessions};
use self::model::{Overview, TargetRow};
use self::timeline::Timeline;
use crate::cache::Cache;
use crate::clock::Clock;

pub use self::routes::router;

/// How often the sampler reads every target into rows (the timeline's point and what the
/// overview and targets pages show until the next sample), in real time, while someone
/// views the dashboard; less often when a sample takes more than a fifth of it. The pause
/// is recorded this often whatever happens.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How often it reads them when no page has been viewed for `VIEWED_FOR`: the timeline
/// keeps its points (a change shows at most this late in it), but an idle dashboard does
/// not read every target and series every few seconds — on a large cluster that was a
/// tenth of the operator's CPU, spent for nobody.
pub const IDLE_SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// How long after a page view the dashboard counts as viewed.
pub const VIEWED_FOR: Duration = Duration::from_secs(300);
/// How long a write waits for the cache to see the pause it wrote, so the page it
/// redirects to shows it.
const WRITE_SETTLE: Duration = Duration::from_secs(5);

pub struct Dashboard {
    pub cache: Arc<Cache>,
    pub store: Arc<dyn HistoryStore>,
    /// The operator's own client: writes the pause ConfigMap, asks TokenReview and
    /// SubjectAccessReview.
    pub client: Client,
    /// The operator's namespace (the pause ConfigMap).
    pub namespace: String,
    pub clock: Arc<dyn Clock>,
    pub timeline: Timeline,
    /// Every target's row as last sampled: the overview and the targets table read it, so
    /// a page view over thousands of targets costs a sort and a page, not a read of every
    /// series (it is one sample old at most; the pause shown is always current).
    latest: RwLock<Option<Arc<Vec<TargetRow>>>>,
    /// When `latest` was sampled, and when a page last read it.
    sampled_at: Mutex<Option<Instant>>,
    viewed_at: Mutex<Option<Instant>>,
    pub sessions: Sessions,
}

/// Tasks aborted when dropped (the timeline's sampler).
pub struct DashboardTasks(Vec<JoinHandle<()>>);

impl Drop for DashboardTasks {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

impl Dashboard {
    /// Starts the timeline's sampler.
    pub fn start(
        client: Client,
        cache: Arc<Cache>,
        store: Arc<dyn HistoryStore>,
        namespace: String,
        clock: Arc<dyn Clock>,
    ) -> (Arc<Dashboard>, DashboardTasks) {
        let dashboard = Arc::new(Dashboard {
            cache,
            store,
            client,
            namespace,
            clock,
            timeline: Timeline::default(),
            latest: RwLock::new(None),
            sampled_at: Mutex::new(None),
            viewed_at: Mutex::new(None),
            sessions: Sessions::default(),
        });
        let sampler = {
            let d = dashboard.clone();
            tokio::spawn(async move {
                let mut cost = Duration::ZERO;
                loop {
                    let every = if d.viewed_within(VIEWED_FOR) {
                        SAMPLE_EVERY
                    } else {
                        IDLE_SAMPLE_EVERY
                    };
                    // On a cluster where a sample is slow, sample less often rather than
                    // spend more than a fifth of a core on it.
                    if d.sample_age().is_none_or(|age| age >= every.max(cost * 4)) {
                        let d2 = d.clone();
                        // Reading thousands of series is blocking work for the store.
                        let started = Instant::now();
                        let _ = tokio::task::spawn_blocking(move || d2.sample()).await;
                        cost = started.elapsed();
                    } else {
                        d.timeline.record_pause(d.cache.pause().paused, d.now());
                    }
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
            })
        };
        (dashboard, DashboardTasks(vec![sampler]))
    }

    pub fn now(&self) -> i64 {
        self.clock.now().as_second()
    }

    /// Reads every target's row, records the timeline's point and keeps the rows for the
    /// pages. Blocking work (thousands of series reads): the sampler runs it every
    /// `SAMPLE_EVERY` on a blocking thread.
    pub fn sample(&self) -> Arc<Vec<TargetRow>> {
        let rows = Arc::new(self.read_rows());
        self.timeline
            .record(&rows, self.cache.pause().paused, self.now());
        *self.latest.write().unwrap_or_else(|e| e.into_inner()) = Some(rows.clone());
        *self.sampled_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        rows
    }

    /// Every target's row as last sampled, for a page: sampled now when there is no
    /// sample yet or it is older than two `SAMPLE_EVERY` (the first view after the
    /// dashboard was idle), so a page is never an idle minute behind.
    pub fn rows(&self) -> Arc<Vec<TargetRow>> {
        self.viewed();
        let latest = self
            .latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match latest {
            Some(rows) if self.sample_age().is_some_and(|age| age < SAMPLE_EVERY * 2) => rows,
            _ => self.sample(),
        }
    }

    /// A page is being viewed: the sampler samples every `SAMPLE_EVERY` for a while.
    fn viewed(&self) {
        *self.viewed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Whether a page was viewed within `period`.
    fn viewed_within(&self, period: Duration) -> bool {
        self.viewed_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at.elapsed() < period)
    }

    fn sample_age(&self) -> Option<Duration> {
        self.sampled_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|at| at.elapsed())
    }

    /// Every target's row, read now from memory (the cache and the store).
    fn read_rows(&self) -> Vec<TargetRow> {
        snapshot::rows(
            &self.cache,
            self.store.as_ref(),
            &events::by_target(&self.cache),
            self.now(),
        )
    }

    pub fn overview(&self, rows: &[TargetRow]) -> Overview {
        let pause = self.cache.pause();
        model::overview(rows, pause.paused, pause.problem)
    }

    /// How many targets a pause affects now.
    pub fn affected(&self) -> usize {
        crate::pause_switch::affected(self.cache.targets.state().iter().map(|t| t.as_ref()))
    }

    /// One target over the last `hours`, or `None` when there is no such target.
    pub fn detail(&self, namespace: &str, name: &str, hours: i64) -> Option<detail::Detail> {
        self.viewed();
        let target = self
            .cache
            .targets
            .state_filter(|t| {
                t.metadata.namespace.as_deref() == Some(namespace)
                    && t.metadata.name.as_deref() == Some(name)
            })
            .into_iter()
            .next()?;
        let workloads = self.cache.resolve(&target);
        let now = self.now();
        let events = events::of_target(&self.cache, namespace, name);
        let rows = snapshot::rows_of(
            &self.cache,
            self.store.as_ref(),
            &target,
            &workloads,
            &events,
            now,
        );
        Some(detail::gather(
            self.store.as_ref(),
            rows,
            &workloads,
            self.timeline.of(namespace, name),
            self.timeline.pauses(),
            events,
            now - hours.clamp(1, 24 * 90) * 3600,
            now,
        ))
    }

    /// Sets the pause for the holder of `token`, when Kubernetes says they may; waits
    /// (briefly) until the cache sees it. Returns the user.
    pub async fn set_paused(&self, token: &str, paused: bool) -> Result<String, Refusal> {
        let user = auth::authorise(&self.client, &self.namespace, token).await?;
        crate::pause_switch::set_paused(&self.client, &self.namespace, paused)
            .await
            .map_err(|e| {
                Refusal::Unavailable(format!(
                    "writing ConfigMap {}/{}: {e}",
                    self.namespace,
                    crate::pause::SYSTEM_CONFIG_MAP
                ))
            })?;
        tracing::info!(%user, paused, "dashboard: system-wide pause set");
        let deadline = tokio::time::Instant::now() + WRITE_SETTLE;
        while self.cache.pause().paused != paused && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(user)
    }
}

/// Serves the dashboard on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    dashboard: Arc<Dashboard>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(dashboard))
        .with_graceful_shutdown(shutdown)
        .await
}
