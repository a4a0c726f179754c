//! Throttles against guessing and flooding, in memory:
//!
//! - [`LoginGuard`]: after `max_failures` failed logins within `window`, the client address
//!   and the username are each locked out for `lockout`. A lock always expires, so spreading
//!   an attack over many addresses can keep a name locked only by failing again after each
//!   lockout; failures recorded while locked do not extend the lock.
//! - [`RequestLimiter`]: a per-client GCRA limit on all requests (governor).
//!
//! Both key IPv6 clients by their /64 network (one host usually owns a whole /64) and
//! IPv4-mapped IPv6 addresses as the IPv4 address. Loopback is not exempt.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Most entries a [`LoginGuard`] keeps (addresses and usernames together).
const MAX_ENTRIES: usize = 100_000;
/// Longest username kept as a key; longer input cannot be a real name anyway.
const MAX_KEY_CHARS: usize = 64;
/// Most client keys a [`RequestLimiter`] holds before it sweeps on its own.
const LIMITER_SWEEP_AT: usize = 100_000;

/// The throttling key of a client address.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(net))
        }
        v4 => v4,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    User(String),
}

impl Key {
    fn pair(ip: IpAddr, username: &str) -> [Key; 2] {
        let name: String = username.trim().to_lowercase().chars().take(MAX_KEY_CHARS).collect();
        [Key::Ip(client_key(ip)), Key::User(name)]
    }
}

#[derive(Debug)]
struct Entry {
    /// Failures in the current window.
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
    last_seen: Instant,
}

impl Entry {
    fn locked_at(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// How many more failures an address may have than a single username.
const IP_FACTOR: u32 = 4;

/// Counts failed logins per client address and per username, and locks either out for a
/// while once it failed too often. `Send + Sync`; memory is capped at 100 000 entries.
#[derive(Debug)]
pub struct LoginGuard {
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    cap: usize,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl LoginGuard {
    /// E.g. `LoginGuard::new(5, 15 min, 15 min)`: 5 failures within 15 minutes lock the
    /// address or the name for 15 minutes. `max_failures` 0 is taken as 1.
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> LoginGuard {
        LoginGuard {
            max_failures: max_failures.max(1),
            window,
            lockout,
            cap: MAX_ENTRIES,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // The map stays consistent even if a holder panicked: every update is one step.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` if this address or this username is locked out now. Call it
    /// before checking the password, and do not check the password when it fails.
    pub fn check(&self, ip: IpAddr, username: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let entries = self.entries();
        let wait = Key::pair(ip, username)
            .iter()
            .filter_map(|key| entries.get(key)?.locked_until)
            .filter(|&until| until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Records a failed login (wrong password or unknown name).
    pub fn record_failure(&self, ip: IpAddr, username: &str) {
        let now = Instant::now();
        let mut entries = self.entries();
        for key in Key::pair(ip, username) {
            if !entries.contains_key(&key) && entries.len() >= self.cap {
                self.evict(&mut entries, now);
            }
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                window_start: now,
                locked_until: None,
                last_seen: now,
            });
            entry.last_seen = now;
            if entry.locked_at(now) {
                continue;
            }
            if now.duration_since(entry.window_start) >= self.window {
                entry.failures = 0;
                entry.window_start = now;
            }
            entry.failures += 1;
            if entry.failures >= self.limit(&key) {
                entry.locked_until = Some(now + self.lockout);
                entry.failures = 0;
                entry.window_start = now;
                match &key {
                    Key::Ip(ip) => tracing::warn!(%ip, "login locked out for an address"),
                    Key::User(user) => tracing::warn!(user, "login locked out for a username"),
                }
            }
        }
    }

    /// Records a successful login: forgets the failures of this username. The address
    /// keeps its count, or a guesser could reset it by logging into an account of its own.
    pub fn record_success(&self, ip: IpAddr, username: &str) {
        let mut entries = self.entries();
        for key in Key::pair(ip, username) {
            if matches!(key, Key::User(_)) {
                entries.remove(&key);
            }
        }
    }

    /// An address stands for many people (an office, a NAT): it may fail more often
    /// than one name before it is locked out.
    fn limit(&self, key: &Key) -> u32 {
        match key {
            Key::User(_) => self.max_failures,
            Key::Ip(_) => self.max_failures.saturating_mul(IP_FACTOR),
        }
    }

    /// Drops entries that are neither locked nor within their failure window.
    pub fn sweep(&self) {
        let now = Instant::now();
        let mut entries = self.entries();
        self.drop_stale(&mut entries, now);
        entries.shrink_to(self.cap / 16);
    }

    fn drop_stale(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        entries.retain(|_, e| e.locked_at(now) || now.duration_since(e.window_start) < self.window);
    }

    /// Makes room when the map is full: stale entries first, then the tenth least recently
    /// seen, unlocked entries before locked ones (so flooding the map with fresh names does
    /// not lift existing lockouts).
    fn evict(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        self.drop_stale(entries, now);
        if entries.len() < self.cap {
            return;
        }
        let mut order: Vec<(bool, Instant, Key)> =
            entries.iter().map(|(k, e)| (e.locked_at(now), e.last_seen, k.clone())).collect();
        let n = (self.cap / 10).max(1).min(order.len());
        order.select_nth_unstable_by(n - 1, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, key) in order.into_iter().take(n) {
            entries.remove(&key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
    }
}

/// A per-client request limit (GCRA): `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RequestLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl RequestLimiter {
    /// Zero for either value is taken as 1.
    pub fn new(per_second: u32, burst: u32) -> RequestLimiter {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(nz(per_second)).allow_burst(nz(burst));
        RequestLimiter { limiter: RateLimiter::keyed(quota) }
    }

    /// `Err(wait)` if this client must wait before its next request.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = client_key(ip);
        let result = self.limiter.check_key(&key);
        if result.is_ok() && self.limiter.len() > LIMITER_SWEEP_AT {
            // Bounds memory between the daemon's periodic sweeps.
            self.limiter.retain_recent();
        }
        result.map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Forgets clients whose limit has fully refilled.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::thread::sleep;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    const LOCK: Duration = Duration::from_millis(300);

    fn guard() -> LoginGuard {
        LoginGuard::new(3, Duration::from_secs(60), LOCK)
    }

    #[test]
    fn client_keys() {
        for (input, want) in [
            ("192.0.2.1", "192.0.2.1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
            ("2001:db8:1:2:ffff::1", "2001:db8:1:2::"),
            ("::1", "::"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            let ip: IpAddr = input.parse().unwrap();
            assert_eq!(client_key(ip), want.parse::<IpAddr>().unwrap(), "{input}");
        }
    }

    #[test]
    fn locks_per_ip_across_usernames() {
        let g = guard();
        // An address may fail IP_FACTOR times the per-name limit.
        for i in 0..3 * IP_FACTOR {
            let name = format!("n{i}");
            assert!(g.check(ip(1), &name).is_ok(), "attempt {i}");
            g.record_failure(ip(1), &name);
        }
        // Address locked, whatever the name; other addresses and names are fine.
        let wait = g.check(ip(1), "zed").unwrap_err();
        assert!(wait <= LOCK && wait > Duration::ZERO);
        assert!(g.check(ip(2), "zed").is_ok());
        sleep(LOCK + Duration::from_millis(50));
        assert!(g.check(ip(1), "zed").is_ok());
    }

    #[test]
    fn locks_per_username_across_ips() {
        let g = guard();
        for last in 1..=3 {
            g.record_failure(ip(last), "Alice");
        }
        assert!(g.check(ip(9), "alice").is_err());
        assert!(g.check(ip(9), "ALICE ").is_err());
        assert!(g.check(ip(9), "bob").is_ok());
        // Failures while locked do not extend the lock.
        g.record_failure(ip(4), "alice");
        sleep(LOCK + Duration::from_millis(50));
        assert!(g.check(ip(9), "alice").is_ok());
        // After the lock, counting starts again from zero.
        g.record_failure(ip(5), "alice");
        assert!(g.check(ip(9), "alice").is_ok());
    }

    #[test]
    fn loopback_is_not_exempt() {
        let g = guard();
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..3 * IP_FACTOR {
            g.record_failure(lo, "x");
        }
        assert!(g.check(lo, "y").is_err());
    }

    #[test]
    fn success_clears_the_name_but_not_the_address() {
        let g = guard();
        g.record_failure(ip(1), "alice");
        g.record_failure(ip(1), "alice");
        g.record_success(ip(1), "alice");
        g.record_failure(ip(1), "alice");
        g.record_failure(ip(1), "alice");
        assert!(g.check(ip(1), "alice").is_ok());
        g.record_failure(ip(1), "alice");
        assert!(g.check(ip(1), "alice").is_err());

        // Guessing other names from one address, with successes in between, still
        // locks the address after four times the per-name limit.
        let g = guard();
        for n in 0..11 {
            g.record_failure(ip(2), &format!("victim{n}"));
            g.record_success(ip(2), "attacker");
        }
        assert!(g.check(ip(2), "someone").is_ok());
        g.record_failure(ip(2), "victim11");
        assert!(g.check(ip(2), "someone").is_err());
    }

    #[test]
    fn window_expires_failures() {
        let g = LoginGuard::new(2, Duration::from_millis(100), LOCK);
        g.record_failure(ip(1), "alice");
        sleep(Duration::from_millis(150));
        g.record_failure(ip(1), "alice");
        assert!(g.check(ip(1), "alice").is_ok());
        g.sweep();
        assert_eq!(g.len(), 2);
        sleep(Duration::from_millis(150));
        g.sweep();
        assert_eq!(g.len(), 0);
    }

    #[test]
    fn memory_is_capped_and_locks_survive_eviction() {
        let mut g = guard();
        g.cap = 100;
        for _ in 0..3 * IP_FACTOR {
            g.record_failure(ip(1), "victim");
        }
        for i in 0..500 {
            g.record_failure(ip(2), &format!("name{i}"));
        }
        assert!(g.len() <= 100, "{}", g.len());
        assert!(g.check(ip(3), "victim").is_err());
        assert!(g.check(ip(1), "other").is_err());
    }

    #[test]
    fn request_limiter_burst_then_limited() {
        let limiter = RequestLimiter::new(1, 3);
        for _ in 0..3 {
            assert!(limiter.check(ip(1)).is_ok());
        }
        let wait = limiter.check(ip(1)).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        // Another client has its own budget; a neighbour in the same IPv6 /64 does not.
        assert!(limiter.check(ip(2)).is_ok());
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        assert!(limiter.check(b).is_err());
        limiter.sweep();
        assert!(limiter.check(ip(1)).is_err());
    }
}
