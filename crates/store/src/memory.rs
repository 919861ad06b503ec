//! An in-memory store, for tests and for short-lived runs.

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::{HistoryStore, Sample, SeriesKey, StoreError};

#[derive(Debug, Default)]
pub struct MemoryStore {
    series: RwLock<BTreeMap<SeriesKey, Vec<Sample>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(
        map: &mut BTreeMap<SeriesKey, Vec<Sample>>,
        key: &SeriesKey,
        sample: Sample,
    ) {
        let samples = map.entry(key.clone()).or_default();
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

    pub(crate) fn read_from(
        map: &BTreeMap<SeriesKey, Vec<Sample>>,
        key: &SeriesKey,
        from: i64,
        to: i64,
    ) -> Vec<Sample> {
        let Some(samples) = map.get(key) else {
            return vec![];
        };
        let start = samples.partition_point(|(t, _)| *t < from);
        let end = samples.partition_point(|(t, _)| *t < to);
        samples[start..end.max(start)].to_vec()
    }

    pub(crate) fn remove_workload(
        map: &mut BTreeMap<SeriesKey, Vec<Sample>>,
        ns: &str,
        kind: &str,
        name: &str,
    ) -> usize {
        let before = map.len();
        map.retain(|k, _| !(k.namespace == ns && k.kind == kind && k.workload == name));
        before - map.len()
    }
}

impl HistoryStore for MemoryStore {
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError> {
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        for (key, sample) in batch {
            Self::insert(&mut map, key, *sample);
        }
        Ok(())
    }

    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Vec<Sample> {
        Self::read_from(
            &self.series.read().unwrap_or_else(|e| e.into_inner()),
            key,
            from,
            to,
        )
    }

    fn series(&self) -> Vec<SeriesKey> {
        self.series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn delete_workload(
        &self,
        namespace: &str,
        kind: &str,
        workload: &str,
    ) -> Result<usize, StoreError> {
        Ok(Self::remove_workload(
            &mut self.series.write().unwrap_or_else(|e| e.into_inner()),
            namespace,
            kind,
            workload,
        ))
    }
}
