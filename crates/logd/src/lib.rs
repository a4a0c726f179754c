//! hs-logd: turns the shared nginx access log into per-domain statistics, and
//! samples the server for HS::Monitor.
//!
//! - [`parse`]: the byte-level parser of the `hspanel` log format;
//! - [`sketch`]: bounded counters (distinct visitors, top lists);
//! - [`agg`]: per-domain aggregates by day and hour, and their JSON files;
//! - [`follow`]: following the log through rotation, with an exact checkpoint;
//! - [`sampler`]: the monitor's history rings and the bandwidth policy.
//!
//! Invariants: a line is counted once, across rotations and crashes (see
//! [`follow`]); nothing from a log line reaches a file name unless it is a hosted
//! [`hs_types::DomainName`]; JSON is only ever written by serde.
//!
//! FIXME: Postfix, Dovecot and BIND logs are not followed yet; per-mailbox mail
//! counts need the mail services, which the panel does not run yet.

pub mod agg;
pub mod follow;
pub mod parse;
pub mod sampler;
pub mod sketch;
