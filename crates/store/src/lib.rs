//! prescale-store: usage history. A trait (plain data in, plain data out) and its
//! implementations: `MemoryStore` for tests, `FileStore`, the embedded default — a
//! compressed, downsampled snapshot plus an append-only, checksummed, fsynced log — and
//! `PgStore`, PostgreSQL for several workers sharing one history.
#![forbid(unsafe_code)]

mod codec;
mod file;
mod key;
mod memory;
mod postgres;
pub mod retention;
pub mod testing;

pub use file::FileStore;
pub use key::{Metric, SeriesKey};
pub use memory::MemoryStore;
pub use postgres::PgStore;

/// One sample: unix seconds and a value (cores, bytes, count).
pub type Sample = (i64, f64);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("PostgreSQL history store: {what}: {reason}")]
    Database { what: String, reason: String },
    #[error("{path}: record at byte {offset} is corrupt ({reason})")]
    Corrupt {
        path: String,
        offset: u64,
        reason: String,
    },
}

/// Usage history of workloads. Every call is blocking; async callers use
/// `spawn_blocking` or accept a short block (the embedded store answers from memory).
pub trait HistoryStore: Send + Sync {
    /// Appends samples; when this returns, they survive a crash. A sample at a time the
    /// series already holds replaces it, so retrying a batch is harmless.
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError>;
    /// Raw samples of one series with `from <= t < to`, oldest first.
    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Result<Vec<Sample>, StoreError>;
    /// Buckets (max, mean, p95) over `from <= t < to`: the stored aggregates for data past
    /// the raw retention, and `bucket_secs` buckets computed from the raw samples after it.
    fn read_downsampled(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        bucket_secs: i64,
    ) -> Result<Vec<retention::Bucket>, StoreError>;
    /// Every series held.
    fn series(&self) -> Result<Vec<SeriesKey>, StoreError>;
    /// Deletes every series of one workload (unenrolling discards history, seed 002);
    /// returns how many series were removed.
    fn delete_workload(
        &self,
        namespace: &str,
        kind: &str,
        workload: &str,
    ) -> Result<usize, StoreError>;
    /// Folds raw samples past `retention.raw_secs` into buckets and drops buckets past
    /// `retention.aggregate_secs`, as of `now`.
    fn apply_retention(&self, now: i64, retention: retention::Retention) -> Result<(), StoreError>;
}
