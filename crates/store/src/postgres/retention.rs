//! Retention in PostgreSQL: seal finished partitions into per-series chunks, fold what is
//! past the raw retention into buckets, expire old buckets — one transaction, under an
//! advisory lock, so two workers never seal or fold the same samples twice and a crash
//! leaves either all of it done or none.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;

use super::queries::decode_chunk;
use super::schema::{self, PARTITION_SECS};
use super::{PgError, Shared, lock};
use crate::Sample;
use crate::codec::encode;
use crate::retention::{Bucket, Retention, buckets, merge};

/// A partition is sealed once its window ended this long ago: samples arriving later (a
/// slow collector) re-create it, and the next pass merges them into the chunk.
const SEAL_GRACE_SECS: i64 = 600;

pub async fn apply(shared: &Shared, now: i64, r: Retention) -> Result<(), PgError> {
    let size = r.bucket_secs.max(1);
    let cut = (now - r.raw_secs).div_euclid(size) * size;
    let mut client = shared.pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('prescale_retention'))",
        &[],
    )
    .await?;
    for p in schema::partitions(&tx).await? {
        if (p + 1) * PARTITION_SECS <= now - SEAL_GRACE_SECS {
            seal(&tx, p).await?;
            schema::drop_partition(&tx, p).await?;
        }
    }
    let starts = tx
        .query(
            "SELECT DISTINCT start FROM prescale_chunks WHERE start < $1 ORDER BY start",
            &[&cut],
        )
        .await?;
    for start in starts.iter().map(|r| r.get::<_, i64>(0)) {
        fold_chunks(&tx, start, cut, size).await?;
    }
    fold_unsealed(&tx, cut, size).await?;
    tx.execute(
        "DELETE FROM prescale_buckets WHERE t < $1",
        &[&(now - r.aggregate_secs)],
    )
    .await?;
    tx.execute(
        "DELETE FROM prescale_series s
         WHERE NOT EXISTS (SELECT 1 FROM prescale_samples WHERE series_id = s.id)
           AND NOT EXISTS (SELECT 1 FROM prescale_chunks WHERE series_id = s.id)
           AND NOT EXISTS (SELECT 1 FROM prescale_buckets WHERE series_id = s.id)",
        &[],
    )
    .await?;
    tx.commit().await?;
    lock(&shared.ids).clear();
    lock(&shared.partitions).clear();
    Ok(())
}

/// Rows of one series in time order, grouped from a query ordered by (series_id, t).
fn by_series(rows: &[tokio_postgres::Row]) -> BTreeMap<i64, Vec<Sample>> {
    let mut out: BTreeMap<i64, Vec<Sample>> = BTreeMap::new();
    for r in rows {
        out.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
    }
    out
}

/// Encodes partition `index` into one chunk per series (merged with a chunk already there
/// for the window: late samples win on equal times).
async fn seal(client: &impl GenericClient, index: i64) -> Result<(), PgError> {
    let start = index * PARTITION_SECS;
    let rows = client
        .query(
            "SELECT series_id, t, value FROM prescale_samples
             WHERE t >= $1 AND t < $2 ORDER BY series_id, t",
            &[&start, &(start + PARTITION_SECS)],
        )
        .await?;
    let mut fresh = by_series(&rows);
    let existing = client
        .query(
            "SELECT series_id, data FROM prescale_chunks WHERE start = $1",
            &[&start],
        )
        .await?;
    for row in &existing {
        let id: i64 = row.get(0);
        if let Some(new) = fresh.get_mut(&id) {
            let mut merged: BTreeMap<i64, f64> =
                decode_chunk(id, start, row.get(1))?.into_iter().collect();
            merged.extend(new.iter().copied());
            *new = merged.into_iter().collect();
        }
    }
    write_chunks(client, start, fresh).await
}

async fn write_chunks(
    client: &impl GenericClient,
    start: i64,
    chunks: BTreeMap<i64, Vec<Sample>>,
) -> Result<(), PgError> {
    let (mut ids, mut data) = (vec![], vec![]);
    for (id, samples) in chunks {
        let mut bytes = vec![];
        encode(&samples, &mut bytes);
        ids.push(id);
        data.push(bytes);
    }
    if ids.is_empty() {
        return Ok(());
    }
    let starts = vec![start; ids.len()];
    client
        .execute(
            "INSERT INTO prescale_chunks (series_id, start, data)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
             ON CONFLICT (series_id, start) DO UPDATE SET data = EXCLUDED.data",
            &[&ids, &starts, &data],
        )
        .await?;
    Ok(())
}

/// Folds the samples before `cut` of the chunks of window `start` into buckets; the
/// samples after the cut stay in a shortened chunk.
async fn fold_chunks(
    client: &impl GenericClient,
    start: i64,
    cut: i64,
    size: i64,
) -> Result<(), PgError> {
    let rows = client
        .query(
            "SELECT series_id, data FROM prescale_chunks WHERE start = $1",
            &[&start],
        )
        .await?;
    let mut folded = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for row in &rows {
        let id: i64 = row.get(0);
        let samples = decode_chunk(id, start, row.get(1))?;
        let split = samples.partition_point(|(t, _)| *t < cut);
        for b in buckets(&samples[..split], size) {
            add(&mut folded, id, b);
        }
        if split < samples.len() {
            kept.insert(id, samples[split..].to_vec());
        }
    }
    client
        .execute("DELETE FROM prescale_chunks WHERE start = $1", &[&start])
        .await?;
    write_chunks(client, start, kept).await?;
    write_buckets(client, folded).await
}

/// Folds rows before `cut` that were not sealed yet (a raw retention shorter than a
/// partition, or a partition still within its grace).
async fn fold_unsealed(client: &impl GenericClient, cut: i64, size: i64) -> Result<(), PgError> {
    let rows = client
        .query(
            "SELECT series_id, t, value FROM prescale_samples WHERE t < $1 ORDER BY series_id, t",
            &[&cut],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut folded = BTreeMap::new();
    for (id, samples) in by_series(&rows) {
        for b in buckets(&samples, size) {
            add(&mut folded, id, b);
        }
    }
    client
        .execute("DELETE FROM prescale_samples WHERE t < $1", &[&cut])
        .await?;
    write_buckets(client, folded).await
}

fn add(folded: &mut BTreeMap<(i64, i64), Bucket>, id: i64, b: Bucket) {
    folded
        .entry((id, b.t))
        .and_modify(|a| merge(a, &b))
        .or_insert(b);
}

/// Upserts buckets, merging with one already stored for the same start (`retention::merge`
/// in SQL).
async fn write_buckets(
    client: &impl GenericClient,
    folded: BTreeMap<(i64, i64), Bucket>,
) -> Result<(), PgError> {
    if folded.is_empty() {
        return Ok(());
    }
    let (mut ids, mut starts) = (vec![], vec![]);
    let (mut max, mut mean, mut p95, mut count) = (vec![], vec![], vec![], vec![]);
    for ((id, t), b) in folded {
        ids.push(id);
        starts.push(t);
        max.push(b.max);
        mean.push(b.mean);
        p95.push(b.p95);
        count.push(b.count.min(i32::MAX as u32) as i32);
    }
    client
        .execute(
            "INSERT INTO prescale_buckets AS old (series_id, t, max, mean, p95, count)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[],
                                  $5::float8[], $6::integer[])
             ON CONFLICT (series_id, t) DO UPDATE SET
                 mean = (old.mean * old.count + EXCLUDED.mean * EXCLUDED.count)
                        / greatest(old.count + EXCLUDED.count, 1),
                 max = greatest(old.max, EXCLUDED.max),
                 p95 = greatest(old.p95, EXCLUDED.p95),
                 count = old.count + EXCLUDED.count",
            &[&ids, &starts, &max, &mean, &p95, &count],
        )
        .await?;
    Ok(())
}

/// Bytes of the history's tables, partitions and indexes.
pub async fn disk_bytes(client: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    let bytes: i64 = client
        .query_one(
            "SELECT (coalesce((SELECT sum(pg_total_relation_size(i.inhrelid))
                               FROM pg_inherits i
                               WHERE i.inhparent = 'prescale_samples'::regclass), 0)
                    + pg_total_relation_size('prescale_series')
                    + pg_total_relation_size('prescale_chunks')
                    + pg_total_relation_size('prescale_buckets'))::bigint",
            &[],
        )
        .await?
        .get(0);
    Ok(bytes.max(0) as u64)
}
