//! The embedded default: one append-only log file. Each record is
//! `[length u32 LE][crc32 u32 LE][payload]`, the payload a JSON batch of samples or a
//! deletion; every append is fsynced before it returns. On open the log is replayed; a
//! torn record at the tail (a crash mid-write) is cut off, so everything acknowledged
//! before the crash is there and nothing corrupt is read.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::memory::MemoryStore;
use crate::{HistoryStore, Sample, SeriesKey, StoreError};

#[derive(Serialize, Deserialize)]
enum Record {
    Batch(Vec<(SeriesKey, i64, f64)>),
    DeleteWorkload {
        namespace: String,
        kind: String,
        workload: String,
    },
}

pub struct FileStore {
    path: PathBuf,
    file: Mutex<File>,
    index: RwLock<BTreeMap<SeriesKey, Vec<Sample>>>,
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl FileStore {
    /// Opens (or creates) the store at `path`, replaying its log.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut bytes = vec![];
        file.read_to_end(&mut bytes).map_err(|e| io(&path, e))?;
        let mut index = BTreeMap::new();
        let mut offset = 0usize;
        while offset + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap_or_default())
                as usize;
            let crc =
                u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().unwrap_or_default());
            let Some(payload) = bytes.get(offset + 8..offset + 8 + len) else {
                break;
            };
            if crc32(payload) != crc {
                break;
            }
            let Ok(record) = serde_json::from_slice::<Record>(payload) else {
                break;
            };
            apply(&mut index, record);
            offset += 8 + len;
        }
        if offset < bytes.len() {
            tracing::warn!(path = %path.display(), kept = offset, dropped = bytes.len() - offset, "cut a torn record off the end of the history log");
            file.set_len(offset as u64).map_err(|e| io(&path, e))?;
            file.sync_all().map_err(|e| io(&path, e))?;
        }
        file.seek(SeekFrom::End(0)).map_err(|e| io(&path, e))?;
        Ok(FileStore {
            path,
            file: Mutex::new(file),
            index: RwLock::new(index),
        })
    }

    fn write(&self, record: &Record) -> Result<(), StoreError> {
        let payload =
            serde_json::to_vec(record).map_err(|e| io(&self.path, std::io::Error::other(e)))?;
        let mut frame = Vec::with_capacity(payload.len() + 8);
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32(&payload).to_le_bytes());
        frame.extend_from_slice(&payload);
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&frame).map_err(|e| io(&self.path, e))?;
        file.sync_data().map_err(|e| io(&self.path, e))
    }
}

fn apply(index: &mut BTreeMap<SeriesKey, Vec<Sample>>, record: Record) -> usize {
    match record {
        Record::Batch(samples) => {
            for (key, t, v) in &samples {
                MemoryStore::insert(index, key, (*t, *v));
            }
            samples.len()
        }
        Record::DeleteWorkload {
            namespace,
            kind,
            workload,
        } => MemoryStore::remove_workload(index, &namespace, &kind, &workload),
    }
}

impl HistoryStore for FileStore {
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let record = Record::Batch(
            batch
                .iter()
                .map(|(k, (t, v))| (k.clone(), *t, *v))
                .collect(),
        );
        self.write(&record)?;
        apply(
            &mut self.index.write().unwrap_or_else(|e| e.into_inner()),
            record,
        );
        Ok(())
    }

    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Vec<Sample> {
        MemoryStore::read_from(
            &self.index.read().unwrap_or_else(|e| e.into_inner()),
            key,
            from,
            to,
        )
    }

    fn series(&self) -> Vec<SeriesKey> {
        self.index
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
        let record = Record::DeleteWorkload {
            namespace: namespace.into(),
            kind: kind.into(),
            workload: workload.into(),
        };
        self.write(&record)?;
        Ok(apply(
            &mut self.index.write().unwrap_or_else(|e| e.into_inner()),
            record,
        ))
    }
}

/// CRC-32 (IEEE), bitwise: records are small and this keeps the crate dependency-free.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    fn key(c: &str) -> SeriesKey {
        SeriesKey {
            namespace: "ns".into(),
            kind: "Deployment".into(),
            workload: "web".into(),
            container: c.into(),
            metric: Metric::Cpu,
        }
    }

    #[test]
    fn survives_reopen_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.log");
        {
            let s = FileStore::open(&path).unwrap();
            s.append(&[
                (key("a"), (10, 1.0)),
                (key("a"), (20, 2.0)),
                (key("b"), (10, 5.0)),
            ])
            .unwrap();
        }
        // A crash mid-write leaves half a record behind.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let s = FileStore::open(&path).unwrap();
        assert_eq!(s.read(&key("a"), 0, 100), vec![(10, 1.0), (20, 2.0)]);
        s.append(&[(key("a"), (30, 3.0))]).unwrap();
        assert_eq!(s.delete_workload("ns", "Deployment", "web").unwrap(), 2);
        drop(s);
        let s = FileStore::open(&path).unwrap();
        assert!(s.series().is_empty());
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
