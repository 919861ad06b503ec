//! prescale-store: usage history. A trait (plain data in, plain data out) and its
//! implementations: `MemoryStore` for tests and `FileStore`, the embedded default — one
//! append-only log file, checksummed records, fsync per batch, replayed on open.
#![forbid(unsafe_code)]

mod file;
mod key;
mod memory;

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

/// Maximum of each `bucket`-second bucket (the downsampling the forecaster uses).
pub fn downsample_max(samples: &[Sample], bucket: i64) -> Vec<Sample> {
    let bucket = bucket.max(1);
    let mut out: Vec<Sample> = vec![];
    for &(t, v) in samples {
        let b = t.div_euclid(bucket) * bucket;
        match out.last_mut() {
            Some((bt, bv)) if *bt == b => *bv = bv.max(v),
            _ => out.push((b, v)),
        }
    }
    out
}
