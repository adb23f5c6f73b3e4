//! Waiting for something that happens in the background: the audit writer, a
//! file watcher, a registry poll, a child process coming up. A test polls the
//! condition itself (a short pause between checks, growing a little) and never
//! sleeps a fixed time hoping it is long enough.
//!
//! A limit only detects a condition that never comes: the default [`LIMIT`] is
//! generous because the tests share two cores with each other and with builds.
//! Where a test asserts a bound on purpose ("seen by the other instance within
//! a second"), [`eventually_within`] takes it explicitly.
//!
//! Every helper comes in an async form (pausing with `tokio::time::sleep`, for
//! tests on a tokio runtime) and a `_sync` form (pausing the thread). The
//! `eventually_ok` forms take a check that says what it saw when the condition
//! does not hold yet; the last of those is in the failure message.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long the `eventually` helpers wait before they fail the test: a
/// failure detector, not a timing assertion.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The pause after the first failed check; each next pause is half as long
/// again, up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);

/// The longest pause between two checks (shorter under a short limit: a
/// fiftieth of it, but never below [`FIRST_PAUSE`]).
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// Wait until `check` gives `true`, for at most [`LIMIT`]; then panic with
/// `what` and the time waited.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(what, LIMIT, || {
        let pending = check();
        async move { if pending.await { Ok(()) } else { Err(Unseen) } }
    })
    .await;
}

/// Wait until `check` gives `Some`, for at most [`LIMIT`]; the value.
pub async fn eventually_some<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, LIMIT, || {
        let pending = check();
        async move { pending.await.ok_or(Unseen) }
    })
    .await
}

/// Wait until `check` gives `Ok`, for at most [`LIMIT`]; the value. On
/// failure the message ends with the last `Err`: what the check saw instead.
pub async fn eventually_ok<T, E, F, Fut>(what: &str, check: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    eventually_within(what, LIMIT, check).await
}

/// [`eventually_ok`] with an explicit limit, for a bound the test asserts on
/// purpose. `check` runs at least once, and once more after any pause.
pub async fn eventually_within<T, E, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pacing = Pacing::new(limit);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) => match pacing.next() {
                Some(pause) => tokio::time::sleep(pause).await,
                None => pacing.give_up(what, &last),
            },
        }
    }
}

/// [`eventually`] for synchronous tests.
#[track_caller]
pub fn eventually_sync(what: &str, mut check: impl FnMut() -> bool) {
    eventually_within_sync(what, LIMIT, || if check() { Ok(()) } else { Err(Unseen) });
}

/// [`eventually_some`] for synchronous tests.
#[track_caller]
pub fn eventually_some_sync<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    eventually_within_sync(what, LIMIT, || check().ok_or(Unseen))
}

/// [`eventually_ok`] for synchronous tests.
#[track_caller]
pub fn eventually_ok_sync<T, E: Display>(what: &str, check: impl FnMut() -> Result<T, E>) -> T {
    eventually_within_sync(what, LIMIT, check)
}

/// [`eventually_within`] for synchronous tests.
#[track_caller]
pub fn eventually_within_sync<T, E: Display>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let mut pacing = Pacing::new(limit);
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) => match pacing.next() {
                Some(pause) => std::thread::sleep(pause),
                None => pacing.give_up(what, &last),
            },
        }
    }
}

/// Poll `check` until it gives `Some`, for at most `limit`, and return what
/// it gave; `None` when it never did. For a caller that has something else to
/// do when the wait runs out (try another port, kill what did not stop).
pub fn poll_until_sync<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let mut pacing = Pacing::new(limit);
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        std::thread::sleep(pacing.next()?);
    }
}

/// The pauses between the checks of one wait, and when it is over.
struct Pacing {
    start: Instant,
    limit: Duration,
    pause: Duration,
    longest: Duration,
    checks: u32,
}

impl Pacing {
    fn new(limit: Duration) -> Self {
        Self {
            start: Instant::now(),
            limit,
            pause: FIRST_PAUSE,
            longest: (limit / 50).clamp(FIRST_PAUSE, LONGEST_PAUSE),
            checks: 0,
        }
    }

    /// After a check that failed: the pause before the next one, or `None`
    /// once the limit has passed.
    fn next(&mut self) -> Option<Duration> {
        self.checks += 1;
        if self.start.elapsed() >= self.limit {
            return None;
        }
        let pause = self.pause;
        self.pause = (self.pause * 3 / 2).min(self.longest);
        Some(pause)
    }

    #[track_caller]
    fn give_up(&self, what: &str, last: &dyn Display) -> ! {
        let waited = self.start.elapsed();
        let (limit, checks) = (self.limit, self.checks);
        let last = last.to_string();
        if last.is_empty() {
            panic!("{what}: not within {limit:?} (waited {waited:.1?}, {checks} checks)");
        }
        panic!(
            "{what}: not within {limit:?} (waited {waited:.1?}, {checks} checks); last seen: {last}"
        );
    }
}

/// The `Err` of a check that has nothing to say beyond "not yet".
struct Unseen;

impl Display for Unseen {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn eventually_returns_once_the_check_holds() {
        let calls = Cell::new(0);
        eventually("the third call", || {
            calls.set(calls.get() + 1);
            async { calls.get() == 3 }
        })
        .await;
        assert_eq!(calls.get(), 3);
        let got = eventually_some("a value", || {
            calls.set(calls.get() + 1);
            async { (calls.get() == 5).then_some("five") }
        })
        .await;
        assert_eq!(got, "five");
    }

    #[tokio::test]
    #[should_panic(expected = "the flag: not within 100ms (waited ")]
    async fn eventually_within_names_what_it_waited_for() {
        eventually_within("the flag", Duration::from_millis(100), || async {
            Err::<(), _>("still down")
        })
        .await;
    }

    #[test]
    fn the_sync_forms_wait_as_the_async_ones_do() {
        let mut calls = 0;
        eventually_sync("the third call", || {
            calls += 1;
            calls == 3
        });
        let got = eventually_ok_sync("a value", || {
            calls += 1;
            if calls == 5 { Ok(calls) } else { Err(calls) }
        });
        assert_eq!(got, 5);
        assert_eq!(
            poll_until_sync(Duration::from_millis(50), || None::<()>),
            None
        );
        assert_eq!(poll_until_sync(Duration::ZERO, || Some(1)), Some(1));
    }

    #[test]
    #[should_panic(expected = "last seen: 7")]
    fn a_sync_failure_ends_with_the_last_thing_seen() {
        eventually_within_sync("seven", Duration::from_millis(50), || Err::<(), _>(7));
    }

    #[test]
    fn the_pause_grows_to_a_bound_that_follows_the_limit() {
        let mut long = Pacing::new(LIMIT);
        let pauses: Vec<_> = (0..8).map(|_| long.next().unwrap().as_millis()).collect();
        assert_eq!(pauses, [20, 30, 45, 67, 100, 100, 100, 100]);
        let mut short = Pacing::new(Duration::from_secs(1));
        assert!((0..5).all(|_| short.next() == Some(FIRST_PAUSE)));
    }
}
