//! Reload coalescing: many changes close together cause one reload, not one each.
//!
//! Each caller asks for a reload and waits for one that *started after* its request,
//! so its change is certainly live when it returns. A single worker thread per
//! service waits for a short quiet spell, then reloads once for everybody waiting.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long the worker waits for more requests before reloading.
const QUIET: Duration = Duration::from_millis(120);
/// The longest a request waits while others keep arriving.
const MAX_DELAY: Duration = Duration::from_millis(1000);

type ReloadFn = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Default)]
struct State {
    /// Requests made so far.
    requested: u64,
    /// Requests covered by a finished reload.
    done: u64,
    /// The outcome of the reload that covered each request range, newest last.
    last: Option<(u64, Result<(), String>)>,
    last_request_at: Option<Instant>,
}

pub struct Reloader {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reloader")
    }
}

impl Reloader {
    pub fn spawn(name: &'static str, reload: ReloadFn) -> Reloader {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("reload-{name}"))
            .spawn(move || work(name, &worker, &reload))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(service = name, "cannot start reloader: {e}"));
        Reloader { shared }
    }

    /// Asks for a reload and blocks until one that covers this request finished.
    pub fn reload(&self) -> Result<(), String> {
        let (lock, wake) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        state.requested += 1;
        state.last_request_at = Some(Instant::now());
        let ticket = state.requested;
        wake.notify_all();

        while state.done < ticket {
            state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        match &state.last {
            Some((covered, result)) if *covered >= ticket => result.clone(),
            _ => Err("reload outcome lost".to_string()),
        }
    }
}

fn work(name: &'static str, shared: &(Mutex<State>, Condvar), reload: &ReloadFn) {
    let (lock, wake) = shared;
    loop {
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while state.requested == state.done {
            state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
        }

        // Gather: wait until requests stop arriving, or the oldest waited long enough.
        let first_seen = Instant::now();
        loop {
            let last = state.last_request_at.unwrap_or(first_seen);
            let quiet_until = last + QUIET;
            let now = Instant::now();
            if now >= quiet_until || now >= first_seen + MAX_DELAY {
                break;
            }
            let pause = quiet_until.min(first_seen + MAX_DELAY) - now;
            state = wake.wait_timeout(state, pause).unwrap_or_else(PoisonError::into_inner).0;
        }

        let covered = state.requested;
        drop(state);

        let started = Instant::now();
        let result = reload();
        let ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(()) => tracing::info!(service = name, covered, ms, "reloaded"),
            Err(e) => tracing::error!(service = name, covered, ms, "reload failed: {e}"),
        }

        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        state.done = covered;
        state.last = Some((covered, result));
        wake.notify_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn concurrent_requests_share_reloads() {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&count);
        let reloader = Arc::new(Reloader::spawn(
            "test",
            Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                Ok(())
            }),
        ));

        let handles: Vec<_> = (0..20)
            .map(|_| {
                let r = Arc::clone(&reloader);
                std::thread::spawn(move || r.reload())
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        let reloads = count.load(Ordering::SeqCst);
        assert!((1..=3).contains(&reloads), "{reloads} reloads for 20 requests");
    }

    #[test]
    fn a_failed_reload_is_reported_to_its_waiters() {
        let reloader = Reloader::spawn("bad", Box::new(|| Err("boom".to_string())));
        assert_eq!(reloader.reload(), Err("boom".to_string()));
    }
}
