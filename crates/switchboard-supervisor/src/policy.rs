//! When a crashed worker is started again, and when the supervisor gives up.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

/// How a crashed worker is restarted: after a backoff that doubles from `initial_backoff` up
/// to `max_backoff`, each wait drawn at random between half and all of it (jitter, so that
/// many supervisors do not restart in step); at most `max_restarts` within any `window`, after
/// which the supervisor gives up.
///
/// ```
/// use std::time::Duration;
/// use switchboard_supervisor::RestartPolicy;
///
/// let policy = RestartPolicy::default()
///     .max_restarts(3, Duration::from_secs(60))
///     .backoff(Duration::from_millis(50), Duration::from_secs(2));
/// assert_eq!(policy.get_max_restarts(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct RestartPolicy {
    max_restarts: u32,
    window: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RestartPolicy {
    /// At most 5 restarts a minute; backoff from 100 ms up to 5 s.
    fn default() -> Self {
        RestartPolicy {
            max_restarts: 5,
            window: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RestartPolicy {
    /// At most `restarts` restarts within any `window`; one more crash and the supervisor
    /// gives up. Zero: never restart.
    #[must_use]
    pub fn max_restarts(mut self, restarts: u32, window: Duration) -> Self {
        self.max_restarts = restarts;
        self.window = window;
        self
    }

    /// The wait before the first restart, and the most any wait may grow to.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// How many restarts the window allows.
    pub fn get_max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The window the restarts are counted in.
    pub fn get_window(&self) -> Duration {
        self.window
    }
}

/// The restarts made lately, and the wait before the next.
pub(crate) struct Restarts {
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
    /// Restarts in a row without a generation that got ready and stayed a window long.
    streak: u32,
    random: RandomState,
}

impl Restarts {
    pub(crate) fn new(policy: RestartPolicy) -> Self {
        Restarts {
            policy,
            recent: VecDeque::new(),
            streak: 0,
            random: RandomState::new(),
        }
    }

    /// The wait before restarting after a crash at `now`, or `None` if the limit is reached
    /// (the restart is then not counted).
    pub(crate) fn next(&mut self, now: Instant) -> Option<Duration> {
        while let Some(&oldest) = self.recent.front() {
            if now.duration_since(oldest) >= self.policy.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.is_empty() {
            self.streak = 0;
        }
        if self.recent.len() >= self.policy.max_restarts as usize {
            return None;
        }
        self.recent.push_back(now);
        let doubled = self
            .policy
            .initial_backoff
            .saturating_mul(1u32 << self.streak.min(16));
        self.streak = self.streak.saturating_add(1);
        let ceiling = doubled.min(self.policy.max_backoff);
        Some(self.jitter(ceiling))
    }

    /// A wait drawn between half of `ceiling` and all of it.
    fn jitter(&self, ceiling: Duration) -> Duration {
        let draw = self
            .random
            .hash_one(self.recent.len() as u64 ^ self.streak as u64);
        let half = ceiling / 2;
        let nanos = half.as_nanos().max(1);
        let extra = (u128::from(draw) % nanos) as u64;
        half + Duration::from_nanos(extra)
    }

    /// How many restarts the policy allows in its window, and the window.
    pub(crate) fn limit(&self) -> (u32, Duration) {
        (self.policy.max_restarts, self.policy.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_restarts_within_the_window_only() {
        let policy = RestartPolicy::default()
            .max_restarts(2, Duration::from_secs(10))
            .backoff(Duration::from_millis(100), Duration::from_millis(300));
        let mut restarts = Restarts::new(policy);
        let start = Instant::now();
        let first = restarts.next(start).expect("the first restart");
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let second = restarts
            .next(start + Duration::from_secs(1))
            .expect("the second");
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        assert_eq!(restarts.next(start + Duration::from_secs(2)), None);
        // The first has left the window: room for one more.
        let later = restarts.next(start + Duration::from_secs(10));
        assert!(later.is_some_and(|wait| wait <= Duration::from_millis(300)));
    }

    #[test]
    fn zero_restarts_means_never() {
        let policy = RestartPolicy::default().max_restarts(0, Duration::from_secs(1));
        assert_eq!(Restarts::new(policy).next(Instant::now()), None);
    }
}
