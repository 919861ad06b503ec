//! The target controller's work queue. Each key is in it at most once and is taken in the
//! order it was asked for, so under a backlog every target gets its turn; urgent work (the
//! system-wide pause, which every autonomous target must report within a second) goes
//! ahead of the rest; a key asked for while it is being worked on runs once more after,
//! never twice at once; and each key has one timer (its next forecast, its backoff).
//!
//! Why not kube-runtime's `applier`: while all its slots are busy it moves every due key
//! into a hash set and hands them out in hash order, so with a steady stream of triggers
//! (a collection every 15 s per namespace, rollouts rechecking) the keys that sort late
//! wait as long as the stream lasts — under load most targets had never been reconciled.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which lane a key waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    Urgent,
    Normal,
}

#[derive(Debug)]
struct State<K> {
    /// Entries are (ticket, key); an entry whose ticket is no longer the key's in
    /// `queued` was superseded (the key moved to the urgent lane) and is skipped.
    urgent: VecDeque<(u64, K)>,
    normal: VecDeque<(u64, K)>,
    queued: HashMap<K, (u64, Lane)>,
    /// Being worked on, and the lane to queue it in again when done (asked for meanwhile).
    active: HashMap<K, Option<Lane>>,
    timers: BTreeMap<(Instant, u64), K>,
    timer_of: HashMap<K, (Instant, u64)>,
    tickets: u64,
}

impl<K> Default for State<K> {
    fn default() -> Self {
        State {
            urgent: VecDeque::new(),
            normal: VecDeque::new(),
            queued: HashMap::new(),
            active: HashMap::new(),
            timers: BTreeMap::new(),
            timer_of: HashMap::new(),
            tickets: 0,
        }
    }
}

impl<K: Clone + Eq + Hash> State<K> {
    fn ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    fn add(&mut self, key: K, lane: Lane) {
        if let Some(again) = self.active.get_mut(&key) {
            *again = Some(again.map_or(lane, |l| l.min(lane)));
            return;
        }
        match self.queued.get(&key) {
            Some((_, l)) if *l <= lane => return,
            _ => {}
        }
        let ticket = self.ticket();
        self.queued.insert(key.clone(), (ticket, lane));
        match lane {
            Lane::Urgent => self.urgent.push_back((ticket, key)),
            Lane::Normal => self.normal.push_back((ticket, key)),
        }
    }

    /// Queues every key whose timer is due at `now`.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.timer_of.remove(&key);
            self.add(key, Lane::Normal);
        }
    }

    fn take(&mut self, now: Instant) -> Option<K> {
        self.fire_timers(now);
        loop {
            let (ticket, key) = self
                .urgent
                .pop_front()
                .or_else(|| self.normal.pop_front())?;
            if self.queued.get(&key).is_some_and(|(t, _)| *t == ticket) {
                self.queued.remove(&key);
                self.active.insert(key.clone(), None);
                return Some(key);
            }
        }
    }
}

/// A work queue of keys `K` (see the module documentation).
#[derive(Debug)]
pub struct WorkQueue<K> {
    state: Mutex<State<K>>,
    wake: tokio::sync::Notify,
}

impl<K> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            state: Mutex::default(),
            wake: tokio::sync::Notify::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    fn state(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for `key` to be worked on, behind what is queued already (a key already queued
    /// keeps its place).
    pub fn add(&self, key: K) {
        self.state().add(key, Lane::Normal);
        self.wake.notify_one();
    }

    /// Asks for `key` ahead of every normal key (moved forward if it was queued).
    pub fn add_urgent(&self, key: K) {
        self.state().add(key, Lane::Urgent);
        self.wake.notify_one();
    }

    /// Sets the one timer of `key`: it is queued `after` from now, unless asked for sooner.
    /// `None` clears the timer.
    pub fn set_timer(&self, key: K, after: Option<Duration>) {
        let mut s = self.state();
        if let Some(old) = s.timer_of.remove(&key) {
            s.timers.remove(&old);
        }
        if let Some(after) = after {
            let at = (Instant::now() + after, s.ticket());
            s.timer_of.insert(key.clone(), at);
            s.timers.insert(at, key);
        }
        drop(s);
        self.wake.notify_one();
    }

    /// Takes the next key at `now` without waiting, marking it active.
    pub fn try_next(&self, now: Instant) -> Option<K> {
        self.state().take(now)
    }

    /// Waits for the next key and marks it active until `done`.
    pub async fn next(&self) -> K {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            // Registered before looking, so an `add` in between is not missed.
            woken.as_mut().enable();
            let next_timer = {
                let mut s = self.state();
                if let Some(key) = s.take(Instant::now()) {
                    return key;
                }
                s.timers.keys().next().map(|(at, _)| *at)
            };
            match next_timer {
                Some(at) => {
                    tokio::select! {
                        () = woken => {}
                        () = tokio::time::sleep_until(at.into()) => {}
                    }
                }
                None => woken.await,
            }
        }
    }

    /// `key` is no longer worked on: queued again if it was asked for meanwhile.
    pub fn done(&self, key: &K) {
        let mut s = self.state();
        if let Some(Some(lane)) = s.active.remove(key) {
            s.add(key.clone(), lane);
            drop(s);
            self.wake.notify_one();
        }
    }

    /// Forgets `key` (a deleted object): its timer and any queued turn.
    pub fn forget(&self, key: &K) {
        let mut s = self.state();
        s.queued.remove(key);
        if let Some(at) = s.timer_of.remove(key) {
            s.timers.remove(&at);
        }
    }

    /// Keys waiting for their turn (not counting timers).
    pub fn waiting(&self) -> usize {
        self.state().queued.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn drain(q: &WorkQueue<u32>, now: Instant) -> Vec<u32> {
        std::iter::from_fn(|| {
            let k = q.try_next(now)?;
            q.done(&k);
            Some(k)
        })
        .collect()
    }

    #[test]
    fn keys_come_in_the_order_asked_once_each_and_urgent_ones_first() {
        let q = WorkQueue::default();
        for k in [3, 1, 2, 1, 3] {
            q.add(k);
        }
        q.add_urgent(2);
        q.add_urgent(9);
        assert_eq!(drain(&q, Instant::now()), vec![2, 9, 3, 1]);
    }

    #[test]
    fn a_key_asked_for_while_active_runs_once_more_after_not_twice_at_once() {
        let q = WorkQueue::default();
        q.add(1);
        q.add(2);
        let now = Instant::now();
        assert_eq!(q.try_next(now), Some(1));
        q.add(1);
        q.add(1);
        assert_eq!(
            q.try_next(now),
            Some(2),
            "1 is active: not handed out again"
        );
        assert_eq!(q.try_next(now), None);
        q.done(&1);
        assert_eq!(q.try_next(now), Some(1));
        q.done(&1);
        q.done(&2);
        assert_eq!(q.try_next(now), None);
    }

    #[test]
    fn timers_queue_their_key_when_due_and_the_last_one_set_counts() {
        let q = WorkQueue::default();
        let now = Instant::now();
        q.set_timer(1, Some(Duration::from_secs(60)));
        q.set_timer(2, Some(Duration::from_secs(5)));
        q.set_timer(2, Some(Duration::from_secs(30)));
        q.set_timer(3, Some(Duration::from_secs(5)));
        q.set_timer(3, None);
        assert_eq!(drain(&q, now + Duration::from_secs(10)), Vec::<u32>::new());
        assert_eq!(drain(&q, now + Duration::from_secs(31)), vec![2]);
        assert_eq!(drain(&q, now + Duration::from_secs(61)), vec![1]);
        q.set_timer(4, Some(Duration::ZERO));
        q.forget(&4);
        assert_eq!(drain(&q, now + Duration::from_secs(61)), Vec::<u32>::new());
    }

    /// Under a backlog with some keys asked for again as soon as they finish (a storm of
    /// triggers), every other key still gets its turn within one pass over the queue —
    /// what the applier's hash-ordered pending set did not give.
    #[test]
    fn keys_asked_for_over_and_over_do_not_starve_the_others() {
        let q = WorkQueue::default();
        let now = Instant::now();
        for k in 0..1000u32 {
            q.add(k);
        }
        let mut seen = HashSet::new();
        for _ in 0..1100 {
            let k = q.try_next(now).expect("a key is always waiting");
            seen.insert(k);
            q.done(&k);
            // The storm: the first ten keys are asked for again and again.
            for hot in 0..10 {
                q.add(hot);
            }
        }
        assert_eq!(seen.len(), 1000, "every key had its turn");
    }

    #[tokio::test]
    async fn next_waits_for_an_add_or_a_timer() {
        let q = std::sync::Arc::new(WorkQueue::default());
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.add(7u32);
        assert_eq!(waiter.await.unwrap(), 7);
        q.done(&7);
        q.set_timer(8, Some(Duration::from_millis(30)));
        let got = tokio::time::timeout(Duration::from_secs(10), q.next()).await;
        assert_eq!(got.unwrap(), 8);
    }
}
