//! hs-logd: turns the shared nginx access log into per-domain statistics, its
//! error log into errors per domain, BIND's query log into queries per zone, the
//! Postfix and Dovecot logs into mail per mailbox, and samples the server for
//! HS::Monitor.
//!
//! - [`parse`]: the byte-level parser of the `hspanel` log format;
//! - [`sketch`]: bounded counters (distinct visitors, top lists);
//! - [`agg`]: per-domain aggregates by day and hour, and their JSON files;
//! - [`follow`]: following a log through rotation, with an exact checkpoint;
//! - [`dnslog`], [`maillog`], [`errlog`]: parsers of BIND's query log, the mail
//!   logs and nginx's error log;
//! - [`tally`]: day counts per zone, per mailbox and per domain from those;
//! - [`sampler`]: the monitor's history rings and the bandwidth policy.
//!
//! Invariants: a line is counted once, across rotations and crashes (see
//! [`follow`]); nothing from a log line reaches a file name unless it is a hosted
//! [`hs_types::DomainName`]; JSON is only ever written by serde.

pub mod agg;
pub mod dnslog;
pub mod errlog;
pub mod follow;
pub mod maillog;
pub mod parse;
pub mod sampler;
pub mod sketch;
pub mod tally;
