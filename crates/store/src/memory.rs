//! An in-memory store, for tests and short-lived runs, and the index the embedded
//! `FileStore` keeps in memory (it adds the log and the snapshot around the same logic).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::retention::{Bucket, Retention, apply as apply_retention, buckets};
use crate::{HistoryStore, Sample, SeriesKey, StoreError};

/// Raw samples and stored aggregates, per series, each kept in time order.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub raw: BTreeMap<SeriesKey, Vec<Sample>>,
    pub aggregates: BTreeMap<SeriesKey, Vec<Bucket>>,
}

impl Index {
    pub fn insert(&mut self, key: &SeriesKey, sample: Sample) {
        let samples = self.raw.entry(key.clone()).or_default();
        // Keep time order; a sample at a time already held replaces it.
        match samples.last() {
            Some((t, _)) if *t < sample.0 => samples.push(sample),
            None => samples.push(sample),
            _ => match samples.binary_search_by_key(&sample.0, |(t, _)| *t) {
                Ok(i) => samples[i] = sample,
                Err(i) => samples.insert(i, sample),
            },
        }
    }

    pub fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Vec<Sample> {
        let Some(samples) = self.raw.get(key) else {
            return vec![];
        };
        let start = samples.partition_point(|(t, _)| *t < from);
        let end = samples.partition_point(|(t, _)| *t < to);
        samples[start..end.max(start)].to_vec()
    }

    /// Stored aggregates in the range, then buckets computed from the raw samples.
    pub fn read_downsampled(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        bucket_secs: i64,
    ) -> Vec<Bucket> {
        let mut out: Vec<Bucket> = self
            .aggregates
            .get(key)
            .map(|a| {
                a.iter()
                    .filter(|b| b.t >= from && b.t < to)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        out.extend(buckets(&self.read(key, from, to), bucket_secs));
        out
    }

    pub fn series(&self) -> Vec<SeriesKey> {
        let keys: BTreeSet<&SeriesKey> = self.raw.keys().chain(self.aggregates.keys()).collect();
        keys.into_iter().cloned().collect()
    }

    /// Removes every series of one workload; returns how many there were.
    pub fn remove_workload(&mut self, ns: &str, kind: &str, name: &str) -> usize {
        let of_workload = |k: &SeriesKey| k.namespace == ns && k.kind == kind && k.workload == name;
        let before: BTreeSet<SeriesKey> = self
            .series()
            .into_iter()
            .filter(|k| of_workload(k))
            .collect();
        self.raw.retain(|k, _| !of_workload(k));
        self.aggregates.retain(|k, _| !of_workload(k));
        before.len()
    }

    /// Folds old raw samples into buckets and drops expired buckets; returns how many raw
    /// samples were folded.
    pub fn apply_retention(&mut self, now: i64, retention: Retention) -> u64 {
        let mut folded = 0;
        for key in self.series() {
            let mut raw = self.raw.remove(&key).unwrap_or_default();
            let mut agg = self.aggregates.remove(&key).unwrap_or_default();
            let before = raw.len();
            apply_retention(&mut raw, &mut agg, now, retention);
            folded += (before - raw.len()) as u64;
            if !raw.is_empty() {
                self.raw.insert(key.clone(), raw);
            }
            if !agg.is_empty() {
                self.aggregates.insert(key, agg);
            }
        }
        folded
    }
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    index: RwLock<Index>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn from_index(index: Index) -> Self {
        MemoryStore {
            index: RwLock::new(index),
        }
    }

    // A panic while holding the lock cannot leave the index half-updated in a way later
    // readers could misread (every update is a whole-vector operation), so poisoning is
    // ignored rather than turned into a second panic.
    pub(crate) fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl HistoryStore for MemoryStore {
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError> {
        let mut index = self.index_mut();
        for (key, sample) in batch {
            index.insert(key, *sample);
        }
        Ok(())
    }

    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Result<Vec<Sample>, StoreError> {
        Ok(self.index().read(key, from, to))
    }

    fn read_downsampled(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        bucket_secs: i64,
    ) -> Result<Vec<Bucket>, StoreError> {
        Ok(self.index().read_downsampled(key, from, to, bucket_secs))
    }

    fn series(&self) -> Result<Vec<SeriesKey>, StoreError> {
        Ok(self.index().series())
    }

    fn delete_workload(
        &self,
        namespace: &str,
        kind: &str,
        workload: &str,
    ) -> Result<usize, StoreError> {
        Ok(self.index_mut().remove_workload(namespace, kind, workload))
    }

    fn apply_retention(&self, now: i64, retention: Retention) -> Result<(), StoreError> {
        self.index_mut().apply_retention(now, retention);
        Ok(())
    }
}
