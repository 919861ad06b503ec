//! The simulated workload of the horizontal backtest: the load at each autoscaler sync
//! (the trace interpolated), pods that serve only once their start-up delay has passed, and
//! the oracle — the fewest replicas that keep the load within the ready capacity.

/// The load at every sync tick: `values` (sampled every `step` seconds) interpolated
/// linearly between consecutive samples, at `sync`-second ticks from the first sample to
/// the last. A missing sample (NaN) holds the last known value (0 before any).
pub fn load_at_ticks(values: &[f64], step: i64, sync: i64) -> Vec<f64> {
    let mut known = 0.0;
    let filled: Vec<f64> = values
        .iter()
        .map(|v| {
            if v.is_finite() {
                known = v.max(0.0);
            }
            known
        })
        .collect();
    if filled.is_empty() || step <= 0 || sync <= 0 {
        return vec![];
    }
    let span = (filled.len() as i64 - 1) * step;
    (0..=span / sync)
        .map(|k| {
            let t = k * sync;
            let i = (t / step) as usize;
            let frac = (t % step) as f64 / step as f64;
            match filled.get(i + 1) {
                Some(next) => filled[i] + (next - filled[i]) * frac,
                None => filled[i],
            }
        })
        .collect()
}

/// The pods that serve the load at each tick.
pub fn needed(load: f64, capacity: f64) -> u32 {
    if capacity > 0.0 && load > 0.0 {
        // A hair of tolerance so that load exactly at capacity needs no extra pod.
        ((load / capacity) - 1e-9)
            .ceil()
            .clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// A workload's pods: the tick each was created. A pod created at tick `c` is ready from
/// tick `c + delay` (the start-up delay in ticks). Scaling down removes the newest pods
/// first — those still starting, as a ReplicaSet does.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Creation ticks, oldest first.
    created: Vec<i64>,
    delay: i64,
}

impl Workload {
    /// `replicas` pods, all ready at tick 0.
    pub fn new(replicas: u32, delay: i64) -> Workload {
        Workload {
            created: vec![-delay; replicas as usize],
            delay,
        }
    }

    pub fn replicas(&self) -> u32 {
        self.created.len() as u32
    }

    /// Pods ready at `tick`.
    pub fn ready(&self, tick: i64) -> u32 {
        self.created
            .iter()
            .filter(|c| **c + self.delay <= tick)
            .count() as u32
    }

    /// Sets the replicas at `tick`: new pods start now, removed ones stop now.
    pub fn scale_to(&mut self, replicas: u32, tick: i64) {
        let n = replicas as usize;
        if n > self.created.len() {
            self.created.resize(n, tick);
        } else {
            self.created.truncate(n);
        }
    }
}

/// The oracle's replicas at every tick: knowing the future, and that a pod serves only
/// `delay` ticks after it is created, the fewest pods such that the ready ones always carry
/// the load. A pod needed at tick j must exist from j − delay on, and keeping a ready pod
/// costs what starting a new one does, so the minimum at tick k is the largest need over
/// ticks k..=k+delay — no schedule with fewer pods at any tick keeps the load served.
pub fn oracle(needs: &[u32], delay: usize) -> Vec<u32> {
    // Sliding-window maximum (monotone deque), linear in the series.
    let mut out = vec![0; needs.len()];
    let mut window: std::collections::VecDeque<usize> = Default::default();
    for j in (0..needs.len()).rev() {
        while window.back().is_some_and(|b| needs[*b] <= needs[j]) {
            window.pop_back();
        }
        window.push_back(j);
        while window.front().is_some_and(|f| *f > j + delay) {
            window.pop_front();
        }
        out[j] = needs[*window.front().expect("j was just pushed")];
    }
    out
}
