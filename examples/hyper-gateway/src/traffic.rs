//! Traffic to a backend Service beyond one address: load balancing over its endpoints (round
//! robin), the retry budget's counts (XBackendTrafficPolicy `retryConstraint`) and session
//! persistence to an endpoint (GEP-1619). The decisions are the core's ([`RetryBudget`],
//! [`Session`], `plan_pinned`); this module keeps the state they need: counters and clocks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use gateway_core::attach::Backend;
use gateway_core::filter::{RetryBudget, RetryCounts, Session, SessionPin, SetSession};
use gateway_core::plan::{Plan, plan, plan_pinned};
use gateway_core::request::RequestView;
use gateway_core::route::Decision;

use crate::backend::Upstream;
use crate::config::State;

/// Where a backend's requests go: its first endpoint, and when the endpoints file lists more
/// than one, the pool they are balanced over. One endpoint costs what it always did: no
/// counter is touched.
pub(crate) struct Resolved {
    pub(crate) first: Upstream,
    pub(crate) pool: Option<Arc<Pool>>,
}

/// The endpoints of one Service port (two or more), chosen in turn.
pub(crate) struct Pool {
    addrs: Box<[SocketAddr]>,
    /// The next endpoint's index (modulo the count): shared by every rule that forwards to the
    /// Service port, so the rotation is per backend, not per rule.
    next: AtomicUsize,
}

impl Pool {
    pub(crate) fn new(addrs: Vec<SocketAddr>) -> Self {
        let next = AtomicUsize::new(0);
        let addrs = addrs.into_boxed_slice();
        Self { addrs, next }
    }
}

impl Resolved {
    /// The endpoint of the next request: round robin over the pool.
    #[inline]
    pub(crate) fn next(&self) -> Upstream {
        match &self.pool {
            None => self.first,
            Some(pool) => {
                let turn = pool.next.fetch_add(1, Ordering::Relaxed);
                let addr = pool.addrs.get(turn % pool.addrs.len().max(1));
                let addr = addr.copied().unwrap_or(self.first.addr);
                Upstream { addr, ..self.first }
            }
        }
    }

    /// The endpoint named `endpoint` (an address as a session token carries it) when it is one
    /// of this backend's endpoints now: a pin is followed only there.
    pub(crate) fn live(&self, endpoint: &str) -> Option<Upstream> {
        let addr: SocketAddr = endpoint.parse().ok()?;
        let listed = match &self.pool {
            None => self.first.addr == addr,
            Some(pool) => pool.addrs.contains(&addr),
        };
        listed.then_some(Upstream { addr, ..self.first })
    }
}

// === sessions ===

/// A session pin the proxy follows: the pinned backendRef, when the session began, and the
/// live endpoint it pins (owned: the request it was read from changes before it is used).
pub(crate) struct Pinned {
    pub(crate) index: usize,
    pub(crate) issued: u64,
    pub(crate) to: Upstream,
}

/// What a request of a rule with session persistence carries to the response: the pin it
/// followed, if any, and the clock reading its tokens use.
pub(crate) struct Sticky {
    pub(crate) pinned: Option<Pinned>,
    pub(crate) now: u64,
}

/// The plan of a request to a rule with session persistence: pinned (`plan_pinned`) when the
/// client presents a pin [`pin`] follows, else drawn; with what the response needs to know.
#[inline(never)]
pub(crate) fn plan_sticky<'r>(
    decision: &Decision<'r, '_>,
    session: &Session<'_>,
    view: &RequestView<'_>,
    state: &State,
    random: u64,
) -> (Plan<'r>, Box<Sticky>) {
    let now = now_unix();
    let (planned, pinned) = match pin(decision, session, &view.headers, state, now) {
        Some((found, pinned)) => (
            plan_pinned(decision, view, Some(&found), random),
            Some(pinned),
        ),
        None => (plan(decision, view, random), None),
    };
    (planned, Box::new(Sticky { pinned, now }))
}

/// The client's session pin for the decision's rule, when the token is valid (the core's
/// [`Session::find`]: this rule's, not expired, the backendRef still the same Service port)
/// and its endpoint is a live endpoint of that backendRef; `None` otherwise (choose again,
/// and start a new session).
pub(crate) fn pin<'a>(
    decision: &Decision<'_, '_>,
    session: &Session<'_>,
    headers: &gateway_core::Headers<'a>,
    state: &State,
    now: u64,
) -> Option<(SessionPin<'a>, Pinned)> {
    let pin = session.find(headers, now)?;
    let backend = decision
        .backends()
        .get(pin.backend_index)?
        .backend
        .as_ref()?;
    let to = state.resolved(backend)?.live(pin.endpoint)?;
    let (index, issued) = (pin.backend_index, pin.issued);
    Some((pin, Pinned { index, issued, to }))
}

/// The session header of the response: a new session pinned to the endpoint `to` when the
/// request followed no pin; the renewed token when it did and the rule has an `idleTimeout`
/// (the time of last use moves on); nothing otherwise.
pub(crate) fn session_header(
    session: &Session<'_>,
    backend_index: usize,
    followed: Option<&Pinned>,
    to: SocketAddr,
    now: u64,
) -> Option<SetSession> {
    match followed {
        None => session.issue(backend_index, &to.to_string(), now),
        Some(pinned) if session.policy.idle_timeout().is_some() => {
            let endpoint = pinned.to.addr.to_string();
            session.renew(
                &SessionPin::new(pinned.index, &endpoint, pinned.issued),
                now,
            )
        }
        Some(_) => None,
    }
}

/// The wall clock in Unix seconds, as session tokens carry it.
pub(crate) fn now_unix() -> u64 {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    since.map_or(0, |d| d.as_secs())
}

// === retry budgets ===

/// The retry budget counts of every backend Service that has a budget, created on first use;
/// they live as long as the configuration (a reload starts them again). Bounded: one entry per
/// Service of the configuration with an accepted XBackendTrafficPolicy.
#[derive(Default)]
pub(crate) struct Budgets {
    services: Mutex<HashMap<(String, String), Arc<BudgetCounts>>>,
}

impl Budgets {
    /// Counts a request to `backend`'s Service under `budget`; the budget and the counts, for
    /// the retries.
    #[inline(never)]
    pub(crate) fn count(
        &self,
        backend: &Backend,
        budget: &RetryBudget,
    ) -> Box<(RetryBudget, Arc<BudgetCounts>)> {
        let counts = self.of(backend, budget);
        counts.request();
        Box::new((*budget, counts))
    }

    /// The counts of `backend`'s Service under `budget`.
    pub(crate) fn of(&self, backend: &Backend, budget: &RetryBudget) -> Arc<BudgetCounts> {
        let mut services = self.services.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (backend.namespace.clone(), backend.name.clone());
        let counts = services.entry(key);
        Arc::clone(counts.or_insert_with(|| Arc::new(BudgetCounts::new(budget))))
    }
}

/// Requests and retries sent to one Service: over the budget's interval, and retries over the
/// minimum rate's interval, each in a sliding window of [`SLOTS`] time slots.
pub(crate) struct BudgetCounts {
    epoch: Instant,
    windows: Mutex<(Window, Window)>,
}

/// Time slots of a sliding window: the counts older than the interval drop out one slot
/// (1/32 of the interval) at a time.
const SLOTS: usize = 32;

impl BudgetCounts {
    fn new(budget: &RetryBudget) -> Self {
        let windows = (
            Window::new(budget.interval),
            Window::new(budget.min_retry_rate.interval),
        );
        Self {
            epoch: Instant::now(),
            windows: Mutex::new(windows),
        }
    }

    /// Counts a request (a first attempt) sent to the Service.
    pub(crate) fn request(&self) {
        let now = self.epoch.elapsed();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.0.add(now, 1, 0);
    }

    /// Asks the budget for one more retry; when it allows it, counts it (a retry is a request
    /// too) and returns `true`.
    pub(crate) fn take_retry(&self, budget: &RetryBudget) -> bool {
        let now = self.epoch.elapsed();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let (requests, retries) = windows.0.sum(now);
        let (_, recent_retries) = windows.1.sum(now);
        if !budget.allows_retry(RetryCounts::new(requests, retries, recent_retries)) {
            return false;
        }
        windows.0.add(now, 1, 1);
        windows.1.add(now, 0, 1);
        true
    }
}

/// Counts over the last `interval`, in slots of `interval / SLOTS` (at least 1 ms).
struct Window {
    slot_ms: u64,
    /// `(slot number, requests, retries)`, the slot number being time / `slot_ms`.
    slots: [(u64, u64, u64); SLOTS],
}

impl Window {
    fn new(interval: Duration) -> Self {
        let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        let slot_ms = (ms / SLOTS as u64).max(1);
        // u64::MAX marks a slot never written: it is never within the last interval.
        let slots = [(u64::MAX, 0, 0); SLOTS];
        Self { slot_ms, slots }
    }

    fn slot(&self, now: Duration) -> u64 {
        u64::try_from(now.as_millis()).unwrap_or(u64::MAX) / self.slot_ms
    }

    fn add(&mut self, now: Duration, requests: u64, retries: u64) {
        let n = self.slot(now);
        let index = usize::try_from(n % SLOTS as u64).unwrap_or(0);
        if let Some(slot) = self.slots.get_mut(index) {
            if slot.0 != n {
                *slot = (n, 0, 0);
            }
            slot.1 += requests;
            slot.2 += retries;
        }
    }

    /// Requests and retries in the slots of the last interval.
    fn sum(&self, now: Duration) -> (u64, u64) {
        let n = self.slot(now);
        let recent = |s: &&(u64, u64, u64)| s.0 <= n && n - s.0 < SLOTS as u64;
        let recent = self.slots.iter().filter(recent);
        recent.fold((0, 0), |(a, b), s| (a + s.1, b + s.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_forgets_what_is_older_than_its_interval() {
        let mut w = Window::new(Duration::from_millis(3200)); // 100 ms slots
        w.add(Duration::from_millis(50), 1, 0);
        w.add(Duration::from_millis(150), 1, 1);
        assert_eq!(w.sum(Duration::from_millis(200)), (2, 1));
        // 3.2 s after the first slot began, it has dropped out; the second has not.
        assert_eq!(w.sum(Duration::from_millis(3200)), (1, 1));
        assert_eq!(w.sum(Duration::from_millis(3300)), (0, 0));
        // A slot reused a lap later starts from zero (the first slot's counts are gone), and
        // the second slot's counts are still within the interval.
        w.add(Duration::from_millis(3250), 1, 0);
        assert_eq!(w.sum(Duration::from_millis(3260)), (2, 1));
        assert_eq!(w.sum(Duration::from_millis(3400)), (1, 0));
    }

    #[test]
    fn the_budget_refuses_retries_beyond_its_share() {
        let mut budget = RetryBudget::default();
        budget.percent = 50;
        budget.min_retry_rate.count = 1;
        budget.min_retry_rate.interval = Duration::from_secs(3600);
        let counts = BudgetCounts::new(&budget);
        counts.request();
        // The minimum rate allows the first retry; then (1 + 1) retries of 3 requests > 50 %.
        assert!(counts.take_retry(&budget));
        assert!(!counts.take_retry(&budget));
        counts.request();
        counts.request();
        // 2 retries of 5 requests (with this one) is 40 %.
        assert!(counts.take_retry(&budget));
    }
}

#[cfg(test)]
mod endpoints_tests {
    use crate::config::Endpoints;

    #[test]
    fn a_service_port_may_list_several_endpoints_each_once() {
        let text = "a/web 127.0.0.1:1\na/web 127.0.0.1:2\na/web:81 127.0.0.1:3\na/api 127.0.0.1:4";
        let e = Endpoints::parse(text).unwrap();
        let addrs = |port| -> Vec<String> {
            let all = e.find_all("a", "web", port);
            all.iter().map(ToString::to_string).collect()
        };
        assert_eq!(addrs(80), ["127.0.0.1:1", "127.0.0.1:2"]);
        // A port's own lines replace the Service's lines for every port.
        assert_eq!(addrs(81), ["127.0.0.1:3"]);
        assert_eq!(e.find("a", "web", 80), Some("127.0.0.1:1".parse().unwrap()));
        assert!(e.find_all("b", "web", 80).is_empty());
        let twice = Endpoints::parse("a/web 127.0.0.1:1\na/web 127.0.0.1:1");
        let why = twice.err().unwrap();
        assert!(why.contains("line 2") && why.contains("already"), "{why}");
        // The same address for another port, or another Service, is fine.
        assert!(Endpoints::parse("a/web 127.0.0.1:1\na/web:81 127.0.0.1:1").is_ok());
        assert!(Endpoints::parse("a/web 127.0.0.1:1\na/api 127.0.0.1:1").is_ok());
    }
}
