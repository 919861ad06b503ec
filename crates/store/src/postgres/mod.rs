//! The PostgreSQL backend, for several operator workers sharing one history
//! (`--store postgres://…`). See `schema.rs` for the tables.
//!
//! The `HistoryStore` trait is blocking (the embedded store answers from memory), so this
//! store runs its own single-threaded tokio runtime on a dedicated thread, where the
//! connection pool lives; each call hands a future to that thread and waits for the answer.
//! That works from plain threads and from inside any tokio runtime alike, and dropping the
//! store never drops a runtime inside another one.

mod claims;
mod queries;
mod retention;
mod schema;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use crate::retention::{Bucket, Retention};
use crate::{HistoryStore, Sample, SeriesKey, StoreError};

/// What the async side shares: the pool and the caches of ids and partitions.
struct Shared {
    pool: Pool,
    ids: Mutex<HashMap<SeriesKey, i64>>,
    partitions: Mutex<BTreeSet<i64>>,
}

pub struct PgStore {
    shared: Arc<Shared>,
    db: DbThread,
}

/// The thread the async side runs on; stopped and joined on drop.
struct DbThread {
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The URL without its password, for messages.
    target: String,
}

/// A failure on the async side, turned into a `StoreError` naming what was being done.
#[derive(Debug)]
enum PgError {
    Pool(deadpool_postgres::PoolError),
    Sql(tokio_postgres::Error),
    /// A series the database did not return an id for.
    Unresolved(String),
    /// A stored chunk that does not decode.
    Corrupt(String),
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(e)
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Sql(e)
    }
}

impl PgError {
    fn describe(&self) -> String {
        match self {
            PgError::Sql(e) => match e.as_db_error() {
                Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
                None => chain(e),
            },
            PgError::Pool(e) => chain(e),
            PgError::Unresolved(key) => format!("no id was returned for series {key}"),
            PgError::Corrupt(what) => what.clone(),
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn redact(url: &str) -> String {
    if !url.contains("://") {
        // key=value form: hide the value of `password=`.
        return url
            .split_whitespace()
            .map(|kv| match kv.split_once('=') {
                Some(("password", _)) => "password=***",
                _ => kv,
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl PgStore {
    /// Connects with a pool of up to `pool_size` connections, creates the schema (or
    /// brings it up to date) and returns the store. `url` is a libpq URL or key=value string.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let target = redact(url);
        let failed = |what: &str, reason: String| StoreError::Database {
            what: format!("{what} ({target})"),
            reason,
        };
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            failed(
                "parsing the connection URL",
                format!("{e}; expected e.g. postgres://user:password@host:5432/database"),
            )
        })?;
        let db = DbThread::spawn(target.clone())
            .map_err(|e| failed("starting the database thread", e.to_string()))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            // The pool's timers belong to the database thread's runtime.
            let _entered = db.runtime.enter();
            Pool::builder(manager)
                .max_size(pool_size.max(1))
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(10)))
                .build()
                .map_err(|e| failed("building the connection pool", e.to_string()))?
        };
        let setup_pool = pool.clone();
        db.block("creating the schema", async move {
            let mut client = setup_pool.get().await?;
            let applied = schema::migrate(&mut client).await?;
            if !applied.is_empty() {
                tracing::info!(?applied, "history schema migrated");
            }
            Ok(())
        })?;
        Ok(PgStore {
            shared: Arc::new(Shared {
                pool,
                ids: Mutex::default(),
                partitions: Mutex::default(),
            }),
            db,
        })
    }

    /// Bytes the history takes in the database: tables, partitions and indexes.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        let shared = self.shared.clone();
        self.block("measuring the tables", async move {
            let client = shared.pool.get().await?;
            Ok(retention::disk_bytes(&client).await?)
        })
    }

    /// Renews `worker`'s heartbeat and claims and returns the targets (from `candidates`,
    /// the targets it sees) it should process now: about an equal share among the
    /// workers alive within `ttl`. See `claims.rs`.
    pub fn claim(
        &self,
        worker: &str,
        candidates: &[String],
        ttl: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let (shared, worker, candidates) =
            (self.shared.clone(), worker.to_string(), candidates.to_vec());
        self.block("claiming targets", async move {
            claims::claim(&shared, &worker, &candidates, ttl).await
        })
    }

    /// Gives back `worker`'s claims, so others take its targets at once.
    pub fn release_claims(&self, worker: &str) -> Result<(), StoreError> {
        let (shared, worker) = (self.shared.clone(), worker.to_string());
        self.block("releasing claims", async move {
            claims::release(&shared, &worker).await
        })
    }

    /// `VACUUM FULL` of the history's tables: rewrites them without the space of deleted
    /// rows (sealing and folding delete rows; autovacuum only makes that space reusable).
    /// Locks the tables while it runs: a maintenance step, not for a busy store.
    pub fn vacuum_full(&self) -> Result<(), StoreError> {
        let shared = self.shared.clone();
        self.block("vacuuming the tables", async move {
            let client = shared.pool.get().await?;
            client
                .batch_execute(
                    "VACUUM FULL prescale_series, prescale_samples, prescale_chunks, prescale_buckets",
                )
                .await?;
            Ok(())
        })
    }

    fn block<T: Send + 'static>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, PgError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.db.block(what, fut)
    }
}

impl DbThread {
    fn spawn(target: String) -> std::io::Result<Self> {
        let (handle_tx, handle_rx) = std::sync::mpsc::sync_channel(1);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("prescale-postgres".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => {
                        let _ = handle_tx.send(Ok(rt.handle().clone()));
                        rt.block_on(async {
                            let _ = stop_rx.await;
                        });
                    }
                    Err(e) => {
                        let _ = handle_tx.send(Err(e));
                    }
                }
            })?;
        let runtime = handle_rx
            .recv()
            .map_err(|_| std::io::Error::other("the database thread exited at start"))??;
        Ok(DbThread {
            runtime,
            stop: Some(stop_tx),
            thread: Some(thread),
            target,
        })
    }

    /// Runs `fut` on the database thread and waits for it.
    fn block<T: Send + 'static>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, PgError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        let failed = |reason: String| StoreError::Database {
            what: format!("{what} ({})", self.target),
            reason,
        };
        match rx.recv() {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(failed(e.describe())),
            Err(_) => Err(failed("the database thread has stopped".into())),
        }
    }
}

impl Drop for DbThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl HistoryStore for PgStore {
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        // Last write wins within a batch, as in the other stores; PostgreSQL refuses to
        // update one row twice in a statement.
        let mut latest: HashMap<(&SeriesKey, i64), f64> = HashMap::with_capacity(batch.len());
        for (k, (t, v)) in batch {
            latest.insert((k, *t), *v);
        }
        let rows: Vec<(SeriesKey, i64, f64)> = latest
            .into_iter()
            .map(|((k, t), v)| (k.clone(), t, v))
            .collect();
        let shared = self.shared.clone();
        self.block("appending samples", async move {
            queries::append(&shared, &rows).await
        })
    }

    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Result<Vec<Sample>, StoreError> {
        let (shared, key) = (self.shared.clone(), key.clone());
        self.block("reading samples", async move {
            queries::read(&shared, &key, from, to).await
        })
    }

    fn read_downsampled(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        bucket_secs: i64,
    ) -> Result<Vec<Bucket>, StoreError> {
        let (shared, key) = (self.shared.clone(), key.clone());
        self.block("reading downsampled history", async move {
            queries::read_downsampled(&shared, &key, from, to, bucket_secs.max(1)).await
        })
    }

    fn series(&self) -> Result<Vec<SeriesKey>, StoreError> {
        let shared = self.shared.clone();
        self.block("listing series", async move {
            let client = shared.pool.get().await?;
            Ok(queries::series(&client).await?)
        })
    }

    fn delete_workload(
        &self,
        namespace: &str,
        kind: &str,
        workload: &str,
    ) -> Result<usize, StoreError> {
        let shared = self.shared.clone();
        let (ns, kind, name) = (
            namespace.to_string(),
            kind.to_string(),
            workload.to_string(),
        );
        self.block("deleting a workload's history", async move {
            let client = shared.pool.get().await?;
            let n = client
                .execute(
                    "DELETE FROM prescale_series WHERE namespace = $1 AND kind = $2 AND workload = $3",
                    &[&ns, &kind, &name],
                )
                .await?;
            lock(&shared.ids)
                .retain(|k, _| !(k.namespace == ns && k.kind == kind && k.workload == name));
            Ok(n as usize)
        })
    }

    fn apply_retention(&self, now: i64, retention: Retention) -> Result<(), StoreError> {
        let shared = self.shared.clone();
        self.block("applying the retention", async move {
            retention::apply(&shared, now, retention).await
        })
    }
}

/// The caches hold plain data: a panic elsewhere cannot leave them inconsistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/history"),
            "postgres://app@db:5432/history"
        );
        assert_eq!(
            redact("host=db user=app password=x"),
            "host=db user=app password=***"
        );
    }

    #[test]
    fn a_bad_url_names_the_expected_form() {
        let Err(e) = PgStore::connect("postgres://[::1", 1) else {
            panic!("an unparseable URL must be refused");
        };
        assert!(e.to_string().contains("expected e.g. postgres://"), "{e}");
    }
}
