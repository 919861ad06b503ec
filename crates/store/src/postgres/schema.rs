//! The PostgreSQL schema, as versioned migrations, and the partitions of the samples table.
//!
//! Tables:
//! * `prescale_series` — one row per series key, with a surrogate `id`.
//! * `prescale_samples (series_id, t, value)` — the newest raw samples, `t` in unix
//!   seconds, partitioned by range of `t` into 6-hour partitions. It is a write buffer:
//!   retention seals each finished partition into `prescale_chunks` and drops it.
//! * `prescale_chunks (series_id, start, data)` — the raw samples of one series for one
//!   6-hour window, in the same delta-of-delta/XOR encoding as the embedded store (about
//!   1–2 bytes a sample instead of ~70 as a row with its index entry), and stored together,
//!   so reading a month of one series touches a few hundred pages instead of tens of
//!   thousands of interleaved ones.
//! * `prescale_buckets (series_id, t, max, mean, p95, count)` — the downsampled history.
//! * `prescale_workers`, `prescale_claims` — which worker processes which targets
//!   (`claims.rs`), each row with an expiry.
//!
//! The data tables reference `prescale_series` with `ON DELETE CASCADE`, so unenrolling a
//! workload is one `DELETE`, and a worker that still caches a deleted series' id gets a
//! foreign-key error (and re-resolves) instead of writing orphaned rows.

use deadpool_postgres::GenericClient;

/// Seconds per partition of `prescale_samples`, and per sealed chunk.
pub const PARTITION_SECS: i64 = 6 * 3600;

/// Every migration in order.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "series, samples, chunks, buckets",
        "CREATE TABLE prescale_series (
         id bigserial PRIMARY KEY,
         namespace text NOT NULL,
         kind text NOT NULL,
         workload text NOT NULL,
         container text NOT NULL,
         metric text NOT NULL,
         UNIQUE (namespace, kind, workload, container, metric));
     CREATE TABLE prescale_samples (
         series_id bigint NOT NULL REFERENCES prescale_series (id) ON DELETE CASCADE,
         t bigint NOT NULL,
         value double precision NOT NULL,
         PRIMARY KEY (series_id, t)) PARTITION BY RANGE (t);
     CREATE TABLE prescale_chunks (
         series_id bigint NOT NULL REFERENCES prescale_series (id) ON DELETE CASCADE,
         start bigint NOT NULL,
         data bytea NOT NULL,
         PRIMARY KEY (series_id, start));
     CREATE TABLE prescale_buckets (
         series_id bigint NOT NULL REFERENCES prescale_series (id) ON DELETE CASCADE,
         t bigint NOT NULL,
         max double precision NOT NULL,
         mean double precision NOT NULL,
         p95 double precision NOT NULL,
         count integer NOT NULL,
         PRIMARY KEY (series_id, t));",
    ),
    (
        2,
        "workers and target claims",
        "CREATE TABLE prescale_workers (
             worker text PRIMARY KEY,
             expires_at timestamptz NOT NULL);
         CREATE TABLE prescale_claims (
             target text PRIMARY KEY,
             worker text NOT NULL,
             expires_at timestamptz NOT NULL);",
    ),
];

/// Applies the migrations not yet applied, each in its own transaction, under an advisory
/// lock so workers starting together apply each exactly once. Returns the versions applied.
pub async fn migrate(
    client: &mut deadpool_postgres::Client,
) -> Result<Vec<i32>, tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS prescale_migrations (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .or_else(ignore_concurrent_create)?;
    let mut applied = vec![];
    for (version, name, sql) in MIGRATIONS {
        let tx = client.transaction().await?;
        // One lock for every prescale migration: `hashtext` of a fixed name.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('prescale_migrations'))",
            &[],
        )
        .await?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM prescale_migrations WHERE version = $1",
                &[version],
            )
            .await?
            .is_some();
        if !done {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO prescale_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await?;
            applied.push(*version);
        }
        tx.commit().await?;
    }
    Ok(applied)
}

/// `CREATE TABLE IF NOT EXISTS` run by two sessions at once can still fail on the catalog's
/// unique index; the table exists either way.
fn ignore_concurrent_create(e: tokio_postgres::Error) -> Result<(), tokio_postgres::Error> {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_TABLE => Ok(()),
        _ => Err(e),
    }
}

/// Quoted, so a partition before 1970 (a negative index) is still a valid identifier.
fn partition_name(index: i64) -> String {
    format!("\"prescale_samples_p{index}\"")
}

/// Creates partition `index` (`index * PARTITION_SECS <= t < (index + 1) * …`) if missing.
pub async fn ensure_partition(
    client: &impl GenericClient,
    index: i64,
) -> Result<(), tokio_postgres::Error> {
    let (from, to) = (index * PARTITION_SECS, (index + 1) * PARTITION_SECS);
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF prescale_samples FOR VALUES FROM ({from}) TO ({to})",
            partition_name(index)
        ))
        .await
        .or_else(ignore_concurrent_create)
}

/// The indexes of the partitions that exist, oldest first.
pub async fn partitions(client: &impl GenericClient) -> Result<Vec<i64>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'prescale_samples'::regclass",
            &[],
        )
        .await?;
    let mut out: Vec<i64> = rows
        .iter()
        .filter_map(|r| {
            r.get::<_, String>(0)
                .strip_prefix("prescale_samples_p")
                .and_then(|i| i.parse().ok())
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

pub async fn drop_partition(
    client: &impl GenericClient,
    index: i64,
) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS {}", partition_name(index)))
        .await
}
