//! The embedded default: a compressed snapshot plus an append-only log.
//!
//! * `PATH` is the log. Each record is `[length u32 LE][crc32 u32 LE][payload]`; a batch
//!   payload holds each series by number — its key written in the first record of the log
//!   that uses it — and its samples in the `codec` encoding. Every
//!   append is fsynced before it returns. On open the log is replayed; a torn record at the
//!   tail (a crash mid-write) is cut off, so everything acknowledged is there and nothing
//!   corrupt is read.
//! * `PATH.snapshot` is written by `compact`: every series, raw samples past the retention
//!   folded into 5-minute buckets, all `codec`-encoded, checksummed, written to a temporary
//!   file, fsynced and renamed into place before the log is emptied. A crash at any point
//!   leaves either the old or the new snapshot, and replaying the log over it is idempotent.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::codec::{decode, encode};
use crate::memory::{Index, MemoryStore};
use crate::retention::{Bucket, Retention};
use crate::{HistoryStore, Sample, SeriesKey, StoreError};

/// A batch naming each series by its key (the format before interning; still read).
const BATCH: u8 = 1;
const DELETE: u8 = 2;
/// A batch naming each series by a number: a key is written once per log, the first time
/// it appears, so a collector tick costs a few bytes a sample instead of a key each.
const INTERNED: u8 = 3;
const SNAPSHOT_MAGIC: &[u8; 4] = b"PSS1";

/// The log file and the series numbers its records use.
struct Log {
    file: File,
    ids: HashMap<SeriesKey, u32>,
}

pub struct FileStore {
    path: PathBuf,
    file: Mutex<Log>,
    /// Everything the log and snapshot hold, for reads.
    mem: MemoryStore,
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn get_bytes<'a>(data: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = u32::from_le_bytes(data.get(*pos..*pos + 4)?.try_into().ok()?) as usize;
    let bytes = data.get(*pos + 4..*pos + 4 + len)?;
    *pos += 4 + len;
    Some(bytes)
}

fn get_key(data: &[u8], pos: &mut usize) -> Option<SeriesKey> {
    serde_json::from_slice(get_bytes(data, pos)?).ok()
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Applies one log payload to the index; `None` when it cannot be decoded. `keys` holds
/// the series numbers defined by earlier records of the same log.
fn replay(index: &mut Index, payload: &[u8], keys: &mut HashMap<u32, SeriesKey>) -> Option<usize> {
    let mut pos = 1;
    match *payload.first()? {
        INTERNED => {
            let mut n = 0;
            while pos < payload.len() {
                let new = *payload.get(pos)? == 1;
                let id = u32::from_le_bytes(payload.get(pos + 1..pos + 5)?.try_into().ok()?);
                pos += 5;
                if new {
                    let key = get_key(payload, &mut pos)?;
                    keys.insert(id, key);
                }
                let key = keys.get(&id)?.clone();
                let samples = decode(payload, &mut pos)?;
                n += samples.len();
                for s in samples {
                    index.insert(&key, s);
                }
            }
            Some(n)
        }
        BATCH => {
            let mut n = 0;
            while pos < payload.len() {
                let key = get_key(payload, &mut pos)?;
                let samples = decode(payload, &mut pos)?;
                n += samples.len();
                for s in samples {
                    index.insert(&key, s);
                }
            }
            Some(n)
        }
        DELETE => {
            let key = get_key(payload, &mut pos)?;
            Some(index.remove_workload(&key.namespace, &key.kind, &key.workload))
        }
        _ => None,
    }
}

impl FileStore {
    /// Opens (or creates) the store at `path`: loads the snapshot, replays the log.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let mut index = load_snapshot(&snapshot_path(&path))?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut bytes = vec![];
        file.read_to_end(&mut bytes).map_err(|e| io(&path, e))?;
        let mut keys: HashMap<u32, SeriesKey> = HashMap::new();
        let mut offset = 0usize;
        while offset + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap_or_default())
                as usize;
            let crc =
                u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().unwrap_or_default());
            let Some(payload) = bytes.get(offset + 8..offset + 8 + len) else {
                break;
            };
            if crc32(payload) != crc || replay(&mut index, payload, &mut keys).is_none() {
                break;
            }
            offset += 8 + len;
        }
        if offset < bytes.len() {
            tracing::warn!(path = %path.display(), kept = offset, dropped = bytes.len() - offset, "cut a torn record off the end of the history log");
            file.set_len(offset as u64).map_err(|e| io(&path, e))?;
            file.sync_all().map_err(|e| io(&path, e))?;
        }
        file.seek(SeekFrom::End(0)).map_err(|e| io(&path, e))?;
        let ids = keys.into_iter().map(|(id, key)| (key, id)).collect();
        Ok(FileStore {
            path,
            file: Mutex::new(Log { file, ids }),
            mem: MemoryStore::from_index(index),
        })
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, log: &mut Log, payload: &[u8]) -> Result<(), StoreError> {
        log.file
            .write_all(&frame(payload))
            .map_err(|e| io(&self.path, e))?;
        log.file.sync_data().map_err(|e| io(&self.path, e))
    }

    /// Applies the retention at `now` and rewrites everything into a compressed snapshot,
    /// then empties the log. Returns the snapshot's size in bytes.
    pub fn compact(&self, now: i64, retention: Retention) -> Result<u64, StoreError> {
        // Holding the log lock keeps appends out while the snapshot is replaced.
        let mut log = self.log();
        let mut index = self.mem.index_mut();
        index.apply_retention(now, retention);
        let mut payload = SNAPSHOT_MAGIC.to_vec();
        for key in &index.series() {
            put_bytes(&mut payload, &serde_json::to_vec(key).unwrap_or_default());
            encode(
                index.raw.get(key).map(Vec::as_slice).unwrap_or_default(),
                &mut payload,
            );
            let agg = index
                .aggregates
                .get(key)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for field in [
                |b: &Bucket| b.max,
                |b: &Bucket| b.mean,
                |b: &Bucket| b.p95,
                |b: &Bucket| b.count as f64,
            ] {
                let column: Vec<Sample> = agg.iter().map(|b| (b.t, field(b))).collect();
                encode(&column, &mut payload);
            }
        }
        let snapshot = snapshot_path(&self.path);
        let tmp = snapshot.with_extension("snapshot.tmp");
        let framed = frame(&payload);
        {
            let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
            f.write_all(&framed).map_err(|e| io(&tmp, e))?;
            f.sync_all().map_err(|e| io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &snapshot).map_err(|e| io(&snapshot, e))?;
        if let Some(dir) = snapshot.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        // The emptied log starts numbering series afresh.
        log.ids.clear();
        let file = &mut log.file;
        file.set_len(0).map_err(|e| io(&self.path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io(&self.path, e))?;
        file.sync_all().map_err(|e| io(&self.path, e))?;
        Ok(framed.len() as u64)
    }

    /// Bytes on disk (snapshot and log).
    pub fn disk_bytes(&self) -> u64 {
        [snapshot_path(&self.path), self.path.clone()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

fn snapshot_path(log: &Path) -> PathBuf {
    let mut name = log
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".snapshot");
    log.with_file_name(name)
}

fn load_snapshot(path: &Path) -> Result<Index, StoreError> {
    let mut index = Index::default();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(index),
        Err(e) => return Err(io(path, e)),
    };
    let corrupt = |offset: usize, reason: &str| StoreError::Corrupt {
        path: path.display().to_string(),
        offset: offset as u64,
        reason: reason.into(),
    };
    if bytes.len() < 8 {
        return Err(corrupt(0, "shorter than its header"));
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().unwrap_or_default());
    let payload = bytes
        .get(8..8 + len)
        .ok_or_else(|| corrupt(8, "truncated"))?;
    if crc32(payload) != crc {
        return Err(corrupt(8, "checksum mismatch"));
    }
    if !payload.starts_with(SNAPSHOT_MAGIC) {
        return Err(corrupt(8, "not a prescale snapshot"));
    }
    let mut pos = 4;
    while pos < payload.len() {
        let at = pos;
        let key = get_key(payload, &mut pos).ok_or_else(|| corrupt(at, "bad series key"))?;
        let raw = decode(payload, &mut pos).ok_or_else(|| corrupt(at, "bad samples"))?;
        let mut columns = vec![];
        for _ in 0..4 {
            columns.push(decode(payload, &mut pos).ok_or_else(|| corrupt(at, "bad buckets"))?);
        }
        let agg: Vec<Bucket> = (0..columns[0].len())
            .map(|i| Bucket {
                t: columns[0][i].0,
                max: columns[0][i].1,
                mean: columns[1].get(i).map_or(f64::NAN, |c| c.1),
                p95: columns[2].get(i).map_or(f64::NAN, |c| c.1),
                count: columns[3].get(i).map_or(0, |c| c.1 as u32),
            })
            .collect();
        if !raw.is_empty() {
            index.raw.insert(key.clone(), raw);
        }
        if !agg.is_empty() {
            index.aggregates.insert(key, agg);
        }
    }
    Ok(index)
}

impl HistoryStore for FileStore {
    fn append(&self, batch: &[(SeriesKey, Sample)]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut grouped: BTreeMap<&SeriesKey, Vec<Sample>> = BTreeMap::new();
        for (k, s) in batch {
            grouped.entry(k).or_default().push(*s);
        }
        let mut log = self.log();
        let mut payload = vec![INTERNED];
        let mut defined: Vec<(SeriesKey, u32)> = vec![];
        for (key, samples) in &mut grouped {
            samples.sort_by_key(|s| s.0);
            match log.ids.get(*key) {
                Some(id) => {
                    payload.push(0);
                    payload.extend_from_slice(&id.to_le_bytes());
                }
                None => {
                    let id = (log.ids.len() + defined.len()) as u32;
                    payload.push(1);
                    payload.extend_from_slice(&id.to_le_bytes());
                    put_bytes(&mut payload, &serde_json::to_vec(key).unwrap_or_default());
                    defined.push(((*key).clone(), id));
                }
            }
            encode(samples, &mut payload);
        }
        self.write(&mut log, &payload)?;
        // Numbers count as defined only once their record is on disk.
        log.ids.extend(defined);
        drop(log);
        self.mem.append(batch)
    }

    fn read(&self, key: &SeriesKey, from: i64, to: i64) -> Result<Vec<Sample>, StoreError> {
        self.mem.read(key, from, to)
    }

    fn read_downsampled(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        bucket_secs: i64,
    ) -> Result<Vec<Bucket>, StoreError> {
        self.mem.read_downsampled(key, from, to, bucket_secs)
    }

    fn series(&self) -> Result<Vec<SeriesKey>, StoreError> {
        self.mem.series()
    }

    fn apply_retention(&self, now: i64, retention: Retention) -> Result<(), StoreError> {
        self.compact(now, retention).map(drop)
    }

    fn delete_workload(
        &self,
        namespace: &str,
        kind: &str,
        workload: &str,
    ) -> Result<usize, StoreError> {
        let key = SeriesKey {
            namespace: namespace.into(),
            kind: kind.into(),
            workload: workload.into(),
            container: String::new(),
            metric: crate::Metric::Cpu,
        };
        let mut payload = vec![DELETE];
        put_bytes(&mut payload, &serde_json::to_vec(&key).unwrap_or_default());
        self.write(&mut self.log(), &payload)?;
        // A DELETE names its workload by key: no series numbers are involved.
        Ok(replay(&mut self.mem.index_mut(), &payload, &mut HashMap::new()).unwrap_or(0))
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
        assert_eq!(
            s.read(&key("a"), 0, 100).unwrap(),
            vec![(10, 1.0), (20, 2.0)]
        );
        s.append(&[(key("a"), (30, 3.0))]).unwrap();
        assert_eq!(s.delete_workload("ns", "Deployment", "web").unwrap(), 2);
        drop(s);
        let s = FileStore::open(&path).unwrap();
        assert!(s.series().unwrap().is_empty());
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn compaction_keeps_recent_raw_and_downsamples_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.log");
        let day = 86_400;
        let s = FileStore::open(&path).unwrap();
        let batch: Vec<_> = (0..(10 * day / 60))
            .map(|i| (key("a"), (i * 60, (i % 7) as f64)))
            .collect();
        s.append(&batch).unwrap();
        s.compact(10 * day, Retention::default()).unwrap();
        drop(s);
        let s = FileStore::open(&path).unwrap();
        let raw = s.read(&key("a"), 0, i64::MAX).unwrap();
        assert_eq!(
            raw.first().unwrap().0,
            2 * day,
            "8 days of raw samples are kept"
        );
        assert_eq!(raw.len() as i64, 8 * day / 60);
        let buckets = s.read_downsampled(&key("a"), 0, 10 * day, 300).unwrap();
        assert_eq!(buckets.len() as i64, 10 * day / 300);
        assert!(buckets.iter().all(|b| b.max == 6.0 || b.max >= 4.0));
        // Appends after a compaction survive the next reopen too.
        s.append(&[(key("a"), (10 * day, 9.0))]).unwrap();
        drop(s);
        assert_eq!(
            FileStore::open(&path)
                .unwrap()
                .read(&key("a"), 10 * day, i64::MAX)
                .unwrap(),
            vec![(10 * day, 9.0)]
        );
    }
}
