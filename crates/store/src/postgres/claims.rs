//! Splitting targets among workers that share the database. Each worker, every pass,
//! calls `claim` with every target it sees: it renews its heartbeat and its claims, and
//! takes or gives back targets so that each live worker holds about an equal share. A
//! worker that stops renewing is forgotten after the TTL and its targets are taken over.
//! One transaction under an advisory lock per call, so two workers never claim the same
//! target.

use std::collections::BTreeSet;
use std::time::Duration;

use deadpool_postgres::GenericClient;

use super::{PgError, Shared};

pub async fn claim(
    shared: &Shared,
    worker: &str,
    candidates: &[String],
    ttl: Duration,
) -> Result<Vec<String>, PgError> {
    let ttl_secs = ttl.as_secs_f64();
    let mut client = shared.pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('prescale_claims'))",
        &[],
    )
    .await?;
    tx.execute("DELETE FROM prescale_workers WHERE expires_at < now()", &[])
        .await?;
    tx.execute("DELETE FROM prescale_claims WHERE expires_at < now()", &[])
        .await?;
    tx.execute(
        "INSERT INTO prescale_workers (worker, expires_at)
         VALUES ($1, now() + make_interval(secs => $2))
         ON CONFLICT (worker) DO UPDATE SET expires_at = EXCLUDED.expires_at",
        &[&worker, &ttl_secs],
    )
    .await?;
    // Targets that are gone are let go.
    tx.execute(
        "DELETE FROM prescale_claims WHERE worker = $1 AND NOT (target = ANY($2))",
        &[&worker, &candidates],
    )
    .await?;
    let live: i64 = tx
        .query_one("SELECT count(*) FROM prescale_workers", &[])
        .await?
        .get(0);
    let share = candidates.len().div_ceil(live.max(1) as usize);
    let mut mine: BTreeSet<String> = strings(
        &tx,
        "SELECT target FROM prescale_claims WHERE worker = $1",
        &worker,
    )
    .await?;
    if mine.len() > share {
        // Give back the excess (the last in order, so the choice is stable).
        let excess: Vec<String> = mine.iter().skip(share).cloned().collect();
        tx.execute(
            "DELETE FROM prescale_claims WHERE worker = $1 AND target = ANY($2)",
            &[&worker, &excess],
        )
        .await?;
        for t in &excess {
            mine.remove(t);
        }
    } else if mine.len() < share {
        let taken = strings(
            &tx,
            "SELECT target FROM prescale_claims WHERE worker <> $1",
            &worker,
        )
        .await?;
        let free: Vec<String> = candidates
            .iter()
            .filter(|t| !mine.contains(*t) && !taken.contains(*t))
            .take(share - mine.len())
            .cloned()
            .collect();
        tx.execute(
            "INSERT INTO prescale_claims (target, worker, expires_at)
             SELECT t, $1, now() FROM unnest($2::text[]) AS t",
            &[&worker, &free],
        )
        .await?;
        mine.extend(free);
    }
    tx.execute(
        "UPDATE prescale_claims SET expires_at = now() + make_interval(secs => $2)
         WHERE worker = $1",
        &[&worker, &ttl_secs],
    )
    .await?;
    tx.commit().await?;
    Ok(mine.into_iter().collect())
}

async fn strings(
    client: &impl GenericClient,
    sql: &str,
    worker: &&str,
) -> Result<BTreeSet<String>, tokio_postgres::Error> {
    Ok(client
        .query(sql, &[worker])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Gives back every claim and the heartbeat of `worker` (a clean shutdown).
pub async fn release(shared: &Shared, worker: &str) -> Result<(), PgError> {
    let client = shared.pool.get().await?;
    client
        .execute("DELETE FROM prescale_claims WHERE worker = $1", &[&worker])
        .await?;
    client
        .execute("DELETE FROM prescale_workers WHERE worker = $1", &[&worker])
        .await?;
    Ok(())
}
