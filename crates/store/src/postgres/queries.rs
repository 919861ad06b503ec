//! The SQL behind each `HistoryStore` call, run on the database thread.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;

use super::schema::{self, PARTITION_SECS};
use super::{PgError, Shared, lock};
use crate::retention::{Bucket, buckets};
use crate::{Metric, Sample, SeriesKey};

/// Inserts (or replaces) samples. A cached series id that another worker deleted, or a
/// partition that retention dropped, fails the insert; the caches are then cleared and the
/// insert retried once.
pub async fn append(shared: &Shared, rows: &[(SeriesKey, i64, f64)]) -> Result<(), PgError> {
    let mut client = shared.pool.get().await?;
    let mut retried = false;
    loop {
        let ids = resolve_ids(shared, &client, rows.iter().map(|r| &r.0)).await?;
        {
            let wanted: BTreeSet<i64> = rows
                .iter()
                .map(|r| r.1.div_euclid(PARTITION_SECS))
                .collect();
            let missing: Vec<i64> = wanted
                .difference(&lock(&shared.partitions))
                .copied()
                .collect();
            for p in missing {
                schema::ensure_partition(&client, p).await?;
                lock(&shared.partitions).insert(p);
            }
        }
        let (mut series, mut times, mut values) = (vec![], vec![], vec![]);
        for (k, t, v) in rows {
            let Some(id) = ids.get(k) else {
                return Err(PgError::Unresolved(format!("{k:?}")));
            };
            series.push(*id);
            times.push(*t);
            values.push(*v);
        }
        let tx = client.transaction().await?;
        let result = tx
            .execute(
                "INSERT INTO prescale_samples (series_id, t, value)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[])
                 ON CONFLICT (series_id, t) DO UPDATE SET value = EXCLUDED.value",
                &[&series, &times, &values],
            )
            .await;
        match result {
            Ok(_) => {
                tx.commit().await?;
                return Ok(());
            }
            Err(e) if !retried && is_stale_cache(&e) => {
                drop(tx);
                lock(&shared.ids).clear();
                lock(&shared.partitions).clear();
                retried = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn is_stale_cache(e: &tokio_postgres::Error) -> bool {
    // 23503: the series row is gone; 23514: "no partition of relation found for row".
    e.code()
        .is_some_and(|c| *c == SqlState::FOREIGN_KEY_VIOLATION || *c == SqlState::CHECK_VIOLATION)
}

/// The ids of `keys`, from the cache or created in one statement.
async fn resolve_ids<'a>(
    shared: &Shared,
    client: &impl GenericClient,
    keys: impl Iterator<Item = &'a SeriesKey>,
) -> Result<HashMap<SeriesKey, i64>, tokio_postgres::Error> {
    let mut out = HashMap::new();
    let mut missing: BTreeSet<&SeriesKey> = BTreeSet::new();
    {
        let cache = lock(&shared.ids);
        for k in keys {
            match cache.get(k) {
                Some(id) => {
                    out.insert(k.clone(), *id);
                }
                None => {
                    missing.insert(k);
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let column =
        |f: fn(&SeriesKey) -> &str| -> Vec<&str> { missing.iter().map(|k| f(k)).collect() };
    let (ns, kind, workload, container, metric) = (
        column(|k| &k.namespace),
        column(|k| &k.kind),
        column(|k| &k.workload),
        column(|k| &k.container),
        column(|k| k.metric.name()),
    );
    // `DO UPDATE` (not `DO NOTHING`) so existing rows are returned too.
    let rows = client
        .query(
            "INSERT INTO prescale_series (namespace, kind, workload, container, metric)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
             ON CONFLICT (namespace, kind, workload, container, metric)
             DO UPDATE SET metric = EXCLUDED.metric
             RETURNING id, namespace, kind, workload, container, metric",
            &[&ns, &kind, &workload, &container, &metric],
        )
        .await?;
    let mut cache = lock(&shared.ids);
    for row in rows {
        if let Some(key) = key_of(&row, 1) {
            let id: i64 = row.get(0);
            cache.insert(key.clone(), id);
            out.insert(key, id);
        }
    }
    Ok(out)
}

/// The series key in columns `first..first + 5` of a row.
fn key_of(row: &tokio_postgres::Row, first: usize) -> Option<SeriesKey> {
    let metric: String = row.get(first + 4);
    let Some(metric) = Metric::from_name(&metric) else {
        tracing::warn!(%metric, "history holds a metric this version does not know; ignored");
        return None;
    };
    Some(SeriesKey {
        namespace: row.get(first),
        kind: row.get(first + 1),
        workload: row.get(first + 2),
        container: row.get(first + 3),
        metric,
    })
}

async fn series_id(
    client: &impl GenericClient,
    key: &SeriesKey,
) -> Result<Option<i64>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT id FROM prescale_series
             WHERE namespace = $1 AND kind = $2 AND workload = $3 AND container = $4 AND metric = $5",
            &[
                &key.namespace,
                &key.kind,
                &key.workload,
                &key.container,
                &key.metric.name(),
            ],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Raw samples of one series: the sealed chunks overlapping the range, decoded, and the
/// rows not sealed yet (which win on equal times: they are the later writes).
pub async fn read(
    shared: &Shared,
    key: &SeriesKey,
    from: i64,
    to: i64,
) -> Result<Vec<Sample>, PgError> {
    let client = shared.pool.get().await?;
    let Some(id) = series_id(&client, key).await? else {
        return Ok(vec![]);
    };
    read_id(&client, id, from, to).await
}

pub(super) async fn read_id(
    client: &impl GenericClient,
    id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Sample>, PgError> {
    let chunks = client
        .query(
            "SELECT start, data FROM prescale_chunks
             WHERE series_id = $1 AND start > $2 AND start < $3 ORDER BY start",
            &[&id, &(from - PARTITION_SECS), &to],
        )
        .await?;
    let mut samples: BTreeMap<i64, f64> = BTreeMap::new();
    for row in &chunks {
        for (t, v) in decode_chunk(id, row.get(0), row.get(1))? {
            if t >= from && t < to {
                samples.insert(t, v);
            }
        }
    }
    let rows = client
        .query(
            "SELECT t, value FROM prescale_samples
             WHERE series_id = $1 AND t >= $2 AND t < $3",
            &[&id, &from, &to],
        )
        .await?;
    for r in &rows {
        samples.insert(r.get(0), r.get(1));
    }
    Ok(samples.into_iter().collect())
}

pub(super) fn decode_chunk(id: i64, start: i64, data: &[u8]) -> Result<Vec<Sample>, PgError> {
    crate::codec::decode(data, &mut 0).ok_or_else(|| {
        PgError::Corrupt(format!(
            "prescale_chunks row (series_id {id}, start {start}) does not decode"
        ))
    })
}

/// Stored buckets in the range, then `bucket_secs` buckets of the raw samples — the same
/// composition as the other stores (`retention::buckets` defines the raw ones).
pub async fn read_downsampled(
    shared: &Shared,
    key: &SeriesKey,
    from: i64,
    to: i64,
    bucket_secs: i64,
) -> Result<Vec<Bucket>, PgError> {
    let client = shared.pool.get().await?;
    let Some(id) = series_id(&client, key).await? else {
        return Ok(vec![]);
    };
    let stored = client
        .query(
            "SELECT t, max, mean, p95, count FROM prescale_buckets
             WHERE series_id = $1 AND t >= $2 AND t < $3 ORDER BY t",
            &[&id, &from, &to],
        )
        .await?;
    let mut out: Vec<Bucket> = stored
        .iter()
        .map(|r| Bucket {
            t: r.get(0),
            max: r.get(1),
            mean: r.get(2),
            p95: r.get(3),
            count: r.get::<_, i32>(4).max(0) as u32,
        })
        .collect();
    out.extend(buckets(&read_id(&client, id, from, to).await?, bucket_secs));
    Ok(out)
}

pub async fn series(client: &impl GenericClient) -> Result<Vec<SeriesKey>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT id, namespace, kind, workload, container, metric FROM prescale_series
             ORDER BY namespace, kind, workload, container, metric",
            &[],
        )
        .await?;
    let mut keys: Vec<SeriesKey> = rows.iter().filter_map(|r| key_of(r, 1)).collect();
    keys.sort();
    Ok(keys)
}
