//! Downsampling and retention: raw samples are kept for `raw_secs` (8 days by default);
//! older ones are folded into `bucket_secs` buckets (5 minutes) of max, mean, p95 and count,
//! kept for `aggregate_secs` (90 days). Pure: samples in, samples and buckets out.

use crate::Sample;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    pub raw_secs: i64,
    pub aggregate_secs: i64,
    pub bucket_secs: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_secs: 8 * 86_400,
            aggregate_secs: 90 * 86_400,
            bucket_secs: 300,
        }
    }
}

/// One downsampled bucket starting at `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub t: i64,
    pub max: f64,
    pub mean: f64,
    pub p95: f64,
    pub count: u32,
}

/// Folds a time-ordered run of samples into buckets.
pub fn buckets(samples: &[Sample], bucket_secs: i64) -> Vec<Bucket> {
    let size = bucket_secs.max(1);
    let mut out = vec![];
    let mut i = 0;
    while i < samples.len() {
        let start = samples[i].0.div_euclid(size) * size;
        let j = i + samples[i..]
            .iter()
            .take_while(|(t, _)| t.div_euclid(size) * size == start)
            .count();
        let mut values: Vec<f64> = samples[i..j].iter().map(|(_, v)| *v).collect();
        values.sort_by(f64::total_cmp);
        let n = values.len();
        out.push(Bucket {
            t: start,
            max: values[n - 1],
            mean: values.iter().sum::<f64>() / n as f64,
            p95: values[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1],
            count: n as u32,
        });
        i = j;
    }
    out
}

/// Merges bucket `b` (late samples) into `a` of the same start. The mean is exact; the
/// p95 of the union is not recoverable from two p95s, so the larger is kept (an upper
/// bound, the safe side for provisioning).
pub fn merge(a: &mut Bucket, b: &Bucket) {
    let n = a.count + b.count;
    if n > 0 {
        a.mean = (a.mean * a.count as f64 + b.mean * b.count as f64) / n as f64;
    }
    a.max = a.max.max(b.max);
    a.p95 = a.p95.max(b.p95);
    a.count = n;
}

/// Applies the retention at `now`: moves raw samples past `raw_secs` into buckets (merging
/// with a bucket already there) and drops buckets past `aggregate_secs`.
pub fn apply(raw: &mut Vec<Sample>, aggregates: &mut Vec<Bucket>, now: i64, r: Retention) {
    let cut = (now - r.raw_secs).div_euclid(r.bucket_secs.max(1)) * r.bucket_secs.max(1);
    let old = raw.partition_point(|(t, _)| *t < cut);
    if old > 0 {
        for b in buckets(&raw[..old], r.bucket_secs) {
            match aggregates.binary_search_by_key(&b.t, |a| a.t) {
                Ok(i) => merge(&mut aggregates[i], &b),
                Err(i) => aggregates.insert(i, b),
            }
        }
        raw.drain(..old);
    }
    let keep_from = now - r.aggregate_secs;
    let expired = aggregates.partition_point(|a| a.t < keep_from);
    aggregates.drain(..expired);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_raw_becomes_buckets_and_very_old_buckets_go() {
        let day = 86_400;
        let mut raw: Vec<Sample> = (0..(10 * day / 60))
            .map(|i| (i * 60, (i % 5) as f64))
            .collect();
        let mut agg = vec![];
        let r = Retention::default();
        apply(&mut raw, &mut agg, 10 * day, r);
        assert!(raw.first().unwrap().0 >= 2 * day);
        assert_eq!(agg.len() as i64, 2 * day / 300);
        assert_eq!(agg[0].count, 5);
        assert_eq!((agg[0].max, agg[0].mean, agg[0].p95), (4.0, 2.0, 4.0));
        apply(&mut raw, &mut agg, 100 * day, r);
        assert!(agg.is_empty(), "buckets older than 90 days are dropped");
    }
}
