//! prescale-store: usage history. A trait (plain data in, plain data out) and its
//! implementations: `MemoryStore` for tests and `FileStore`, the embedded default — a
//! compressed, downsampled snapshot plus an append-only, checksummed, fsynced log.
#![forbid(unsafe_code)]

mod codec;
mod file;
mod key;
mod memory;
pub mod retention;

pub use file::FileStore;
pub use key::{Metric, SeriesKey};
pub use memory::MemoryStore;

/// One sample: unix seconds and a value (cores, bytes, count).
pub type Sample = (i64, f64);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: record at byte {offset} is corrupt ({reason})")]
    Corrupt {
        path: String,
        offset: u64,
        reason: String,
    },
}

/// Usage history of workloads.
pub trait HistoryStore: Send + Sync {
    /// Appends samples; when this returns, they survive a crash.
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError>;
    /// Samples of one series with `from <= t < to`, oldest first.
    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Vec<Sample>;
    /// Buckets of `bucket_secs` (max, mean, p95) over `from <= t < to`: the stored
    /// aggregates for old data, computed from raw samples for recent data.
    fn read_downsampled(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        bucket_secs: i64,
    ) -> Vec<retention::Bucket> {
        retention::buckets(&self.read(key, from, to), bucket_secs)
    }
    /// Every series held.
    fn series(&self) -> Vec<SeriesKey>;
    /// Deletes every series of one workload (unenrolling discards history, seed 002);
    /// returns how many series were removed.
    fn delete_workload(
        &self,
        namespace: &str,
        kind: &str,
        workload: &str,
    ) -> Result<usize, StoreError>;
}
