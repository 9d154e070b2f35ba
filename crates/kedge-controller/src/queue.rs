//! A rate-limited work queue with client-go's `workqueue` semantics.
//!
//! Keys (application names) wait in FIFO order and are handed to workers by
//! [`WorkQueue::get`]. A key is queued at most once: adding a key that is
//! already waiting does nothing, and adding a key that a worker is
//! processing marks it dirty, so it is queued again when that worker calls
//! [`WorkQueue::done`]. Two workers therefore never hold the same key, which
//! is what keeps reconciles of one application sequential.
//!
//! Delayed adds ([`WorkQueue::add_after`]) wait in a timer set; a key that is
//! already waiting there keeps the earlier deadline, which is how bursts of
//! watch events coalesce (debounce). [`WorkQueue::add_rate_limited`] delays a
//! key by a per-key exponential backoff (base doubling per failure up to a
//! cap) until [`WorkQueue::forget`] resets it. No background task is needed:
//! `get` moves due timers into the queue itself and sleeps until the next
//! deadline or the next add.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Per-key exponential backoff: `base * 2^failures`, capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Delay after the first failure.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for RateLimit {
    /// 100 ms doubling up to 5 minutes.
    fn default() -> Self {
        RateLimit {
            base: Duration::from_millis(100),
            max: Duration::from_secs(300),
        }
    }
}

impl RateLimit {
    /// The delay after `failures` earlier failures.
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

struct State<K> {
    queue: VecDeque<K>,
    /// Keys waiting in `queue` or to be re-queued after processing.
    dirty: HashSet<K>,
    processing: HashSet<K>,
    /// Delayed keys: deadline per key and the ordered timer set.
    waiting: HashMap<K, (Instant, u64)>,
    timers: BTreeSet<(Instant, u64)>,
    timer_keys: HashMap<u64, K>,
    next_timer: u64,
    failures: HashMap<K, u32>,
    shutdown: bool,
}

/// The work queue; see the module documentation.
pub struct WorkQueue<K> {
    state: Mutex<State<K>>,
    notify: Notify,
    limit: RateLimit,
}

impl<K> std::fmt::Debug for WorkQueue<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkQueue")
            .field("limit", &self.limit)
            .finish()
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    /// An empty queue with the given per-key backoff.
    pub fn new(limit: RateLimit) -> WorkQueue<K> {
        WorkQueue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                waiting: HashMap::new(),
                timers: BTreeSet::new(),
                timer_keys: HashMap::new(),
                next_timer: 0,
                failures: HashMap::new(),
                shutdown: false,
            }),
            notify: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` now (no-op when it is already queued).
    pub fn add(&self, key: K) {
        let mut st = self.lock();
        if Self::add_locked(&mut st, key) {
            drop(st);
            self.notify.notify_one();
        }
    }

    fn add_locked(st: &mut State<K>, key: K) -> bool {
        if st.shutdown || st.dirty.contains(&key) {
            return false;
        }
        // Queued now: a pending timer for it is moot.
        if let Some(timer) = st.waiting.remove(&key) {
            st.timers.remove(&timer);
            st.timer_keys.remove(&timer.1);
        }
        st.dirty.insert(key.clone());
        if st.processing.contains(&key) {
            // Re-queued by `done`.
            return false;
        }
        st.queue.push_back(key);
        true
    }

    /// Queues `key` after `delay`; a key already waiting keeps the earlier
    /// deadline, a key already queued stays queued.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let deadline = Instant::now() + delay;
        let mut st = self.lock();
        if st.shutdown || (st.dirty.contains(&key) && !st.processing.contains(&key)) {
            return;
        }
        if let Some(&(at, id)) = st.waiting.get(&key) {
            if at <= deadline {
                return;
            }
            st.timers.remove(&(at, id));
            st.timer_keys.remove(&id);
        }
        let id = st.next_timer;
        st.next_timer += 1;
        st.waiting.insert(key.clone(), (deadline, id));
        st.timers.insert((deadline, id));
        st.timer_keys.insert(id, key);
        drop(st);
        // A sleeping worker may need an earlier wake-up.
        self.notify.notify_one();
    }

    /// Queues `key` after its backoff and counts one more failure.
    pub fn add_rate_limited(&self, key: K) -> Duration {
        let delay = {
            let mut st = self.lock();
            let n = st.failures.entry(key.clone()).or_insert(0);
            let d = self.limit.delay(*n);
            *n = n.saturating_add(1);
            d
        };
        self.add_after(key, delay);
        delay
    }

    /// Resets the backoff of `key`.
    pub fn forget(&self, key: &K) {
        self.lock().failures.remove(key);
    }

    /// Failures counted for `key` since the last `forget`.
    pub fn failures(&self, key: &K) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Keys queued now (not counting delayed ones).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no key is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys waiting on a timer.
    pub fn delayed(&self) -> usize {
        self.lock().waiting.len()
    }

    /// Waits for the next key; `None` once the queue is shut down.
    pub async fn get(&self) -> Option<K> {
        loop {
            let notified = self.notify.notified();
            let next_deadline = {
                let mut st = self.lock();
                if st.shutdown {
                    return None;
                }
                let now = Instant::now();
                while let Some(&(at, id)) = st.timers.first() {
                    if at > now {
                        break;
                    }
                    st.timers.remove(&(at, id));
                    if let Some(key) = st.timer_keys.remove(&id) {
                        st.waiting.remove(&key);
                        Self::add_locked(&mut st, key);
                    }
                }
                if let Some(key) = st.queue.pop_front() {
                    st.processing.insert(key.clone());
                    st.dirty.remove(&key);
                    let more = !st.queue.is_empty();
                    drop(st);
                    if more {
                        // Wake the next worker for the rest.
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
                st.timers.first().map(|(at, _)| *at)
            };
            match next_deadline {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Marks `key` processed; queues it again if it was added meanwhile.
    pub fn done(&self, key: &K) {
        let mut st = self.lock();
        st.processing.remove(key);
        if st.dirty.contains(key) && !st.shutdown {
            st.queue.push_back(key.clone());
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Drops every queued, delayed and in-flight key (a new leadership
    /// term starts from a fresh list) and reopens a shut-down queue.
    pub fn reset(&self) {
        let mut st = self.lock();
        st.queue.clear();
        st.dirty.clear();
        st.processing.clear();
        st.waiting.clear();
        st.timers.clear();
        st.timer_keys.clear();
        st.shutdown = false;
    }

    /// Stops the queue: `get` returns `None` from now on.
    pub fn shut_down(&self) {
        self.lock().shutdown = true;
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> WorkQueue<String> {
        WorkQueue::new(RateLimit {
            base: Duration::from_millis(10),
            max: Duration::from_millis(80),
        })
    }

    #[tokio::test]
    async fn a_key_is_queued_at_most_once() {
        let q = queue();
        q.add("a".to_string());
        q.add("b".to_string());
        q.add("a".to_string());
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await.as_deref(), Some("a"));
        assert_eq!(q.get().await.as_deref(), Some("b"));
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn re_added_while_processing_is_processed_again_after_done() {
        let q = queue();
        q.add("a".to_string());
        let k = q.get().await.unwrap();
        q.add("a".to_string());
        q.add("a".to_string());
        // Not handed to a second worker while the first holds it.
        assert_eq!(q.len(), 0);
        q.done(&k);
        assert_eq!(q.len(), 1);
        let again = q.get().await.unwrap();
        assert_eq!(again, "a");
        q.done(&again);
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn delayed_adds_coalesce_to_the_earliest_deadline() {
        let q = queue();
        q.add_after("a".to_string(), Duration::from_secs(60));
        q.add_after("a".to_string(), Duration::from_millis(20));
        q.add_after("a".to_string(), Duration::from_secs(30));
        assert_eq!(q.delayed(), 1);
        let start = Instant::now();
        let k = tokio::time::timeout(Duration::from_secs(5), q.get())
            .await
            .expect("due within the earliest deadline");
        assert_eq!(k.as_deref(), Some("a"));
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(q.delayed(), 0);
    }

    #[tokio::test]
    async fn add_cancels_a_pending_timer() {
        let q = queue();
        q.add_after("a".to_string(), Duration::from_secs(60));
        q.add("a".to_string());
        assert_eq!(q.delayed(), 0);
        assert_eq!(q.get().await.as_deref(), Some("a"));
    }

    #[tokio::test]
    async fn backoff_grows_per_key_and_resets_on_forget() {
        let q = queue();
        let a = "a".to_string();
        let delays: Vec<Duration> = (0..5).map(|_| q.add_rate_limited(a.clone())).collect();
        assert_eq!(
            delays,
            [10, 20, 40, 80, 80].map(Duration::from_millis).to_vec()
        );
        // Another key has its own count.
        assert_eq!(
            q.add_rate_limited("b".to_string()),
            Duration::from_millis(10)
        );
        assert_eq!(q.failures(&a), 5);
        q.forget(&a);
        assert_eq!(q.failures(&a), 0);
        assert_eq!(q.add_rate_limited(a.clone()), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn shutdown_wakes_waiting_workers() {
        let q = std::sync::Arc::new(queue());
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.get().await });
        tokio::task::yield_now().await;
        q.shut_down();
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(got, None);
    }

    #[tokio::test]
    async fn concurrent_workers_never_share_a_key() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let q: Arc<WorkQueue<u32>> = Arc::new(WorkQueue::new(RateLimit::default()));
        let active: Arc<Mutex<HashSet<u32>>> = Arc::default();
        let processed = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (q, active, processed) = (q.clone(), active.clone(), processed.clone());
            workers.push(tokio::spawn(async move {
                while let Some(k) = q.get().await {
                    assert!(active.lock().unwrap().insert(k), "key {k} held twice");
                    tokio::task::yield_now().await;
                    active.lock().unwrap().remove(&k);
                    processed.fetch_add(1, Ordering::SeqCst);
                    q.done(&k);
                }
            }));
        }
        for round in 0..50u32 {
            q.add(round % 3);
            tokio::task::yield_now().await;
        }
        // Drain: wait until nothing is queued or held.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(q.is_empty() && active.lock().unwrap().is_empty()) {
            assert!(Instant::now() < deadline, "queue never drained");
            tokio::task::yield_now().await;
        }
        q.shut_down();
        for w in workers {
            w.await.unwrap();
        }
        assert!(processed.load(Ordering::SeqCst) >= 3);
    }
}
