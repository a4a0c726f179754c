//! One-time tickets that carry a session from the admin portal to the user
//! portal: "log in as the user" for administrators and resellers.
//!
//! A ticket is 32 random bytes shown once, kept in memory only as its SHA-256,
//! valid for [`TICKET_TTL`] and for one redemption. The two portals are two
//! listeners of one process, so memory is the whole store: a restart voids the
//! tickets in flight, which costs a click.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::AuthError;
use crate::store::random_hex;

/// How long a ticket waits for the user portal to redeem it.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Tickets that may wait at once; more means someone is minting them in a
/// loop, and the oldest go first.
const MAX_WAITING: usize = 1024;

/// Who a redeemed ticket logs in, and who asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub username: String,
    pub issued_by: String,
}

#[derive(Debug, Default)]
pub struct Handoffs {
    waiting: Mutex<HashMap<[u8; 32], (Handoff, Instant)>>,
}

fn digest(ticket: &str) -> [u8; 32] {
    Sha256::digest(ticket.trim().as_bytes()).into()
}

impl Handoffs {
    pub fn new() -> Handoffs {
        Handoffs::default()
    }

    /// A fresh ticket that logs `username` in on the user portal once.
    pub fn issue(&self, username: &str, issued_by: &str) -> Result<String, AuthError> {
        let ticket = random_hex(32)?;
        let handoff = Handoff { username: username.to_owned(), issued_by: issued_by.to_owned() };
        let mut waiting = self.lock();
        let now = Instant::now();
        waiting.retain(|_, (_, expires)| *expires > now);
        if waiting.len() >= MAX_WAITING
            && let Some(oldest) = waiting.iter().min_by_key(|(_, (_, e))| *e).map(|(k, _)| *k)
        {
            waiting.remove(&oldest);
        }
        waiting.insert(digest(&ticket), (handoff, now + TICKET_TTL));
        Ok(ticket)
    }

    /// The handoff a ticket stands for, once: a second redemption, an expired
    /// or an unknown ticket is `None`. Lookups go by the ticket's digest, so
    /// the map's timing says nothing about the secret.
    pub fn redeem(&self, ticket: &str) -> Option<Handoff> {
        let (handoff, expires) = self.lock().remove(&digest(ticket))?;
        (expires > Instant::now()).then_some(handoff)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Handoff, Instant)>> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once_and_only_for_its_user() {
        let handoffs = Handoffs::new();
        let ticket = handoffs.issue("alice", "root").unwrap();
        assert_eq!(ticket.len(), 64);
        let other = handoffs.issue("bob", "resell").unwrap();
        assert_ne!(ticket, other);

        let expected = Handoff { username: "alice".into(), issued_by: "root".into() };
        assert_eq!(handoffs.redeem(&format!(" {ticket}\n")), Some(expected));
        assert_eq!(handoffs.redeem(&ticket), None, "a ticket is single-use");
        assert_eq!(handoffs.redeem("0".repeat(64).as_str()), None);
        assert_eq!(handoffs.redeem(""), None);
        assert_eq!(handoffs.redeem(&other).unwrap().username, "bob");
    }

    #[test]
    fn the_waiting_room_is_bounded() {
        let handoffs = Handoffs::new();
        let first = handoffs.issue("alice", "root").unwrap();
        for _ in 0..MAX_WAITING {
            handoffs.issue("bob", "root").unwrap();
        }
        assert_eq!(handoffs.lock().len(), MAX_WAITING);
        assert_eq!(handoffs.redeem(&first), None, "the oldest ticket made room");
    }
}
