//! hs-logd's second duty: every few minutes a sample of the server for the
//! monitor's history rings, and every check interval the admin's alert
//! thresholds (alerts recorded and e-mailed) and the bandwidth policy.
//!
//! FIXME: each bandwidth check sums the month's day files of every domain; at
//! thousands of domains a running month total per domain should be kept instead.

use std::time::{Duration, Instant};

use hs_config::PanelConfig;
use hs_modules::{Panel, monitor};

/// One history sample every five minutes (the fine ring's resolution).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct Sampler {
    usage_every: Duration,
    last_sample: Option<Instant>,
    last_usage: Option<Instant>,
}

impl Sampler {
    pub fn new(usage_every: Duration) -> Sampler {
        Sampler { usage_every, last_sample: None, last_usage: None }
    }

    /// Does whatever is due. Errors are logged: a failed sample must not stop the
    /// log from being followed.
    pub fn tick(&mut self, panel: &Panel) {
        if self.last_sample.is_none_or(|t| t.elapsed() >= SAMPLE_EVERY) {
            self.last_sample = Some(Instant::now());
            let server = monitor::read_server(Duration::from_millis(250));
            if let Err(e) = monitor::record_sample(&panel.layout, monitor::sample_of(&server)) {
                tracing::warn!("history sample not recorded: {e}");
            }
        }
        if self.last_usage.is_none_or(|t| t.elapsed() >= self.usage_every) {
            self.last_usage = Some(Instant::now());
            let server = monitor::read_server(Duration::from_millis(250));
            match monitor::check_thresholds(panel, &server) {
                Ok(raised) if !raised.is_empty() => tracing::info!(?raised, "alerts raised"),
                Ok(_) => {}
                Err(e) => tracing::warn!("threshold check failed: {e}"),
            }
            // The policy is read at each check, so the admin's change applies at once.
            let policy = PanelConfig::read(&panel.layout.panel_config())
                .map(|c| c.bandwidth_policy)
                .unwrap_or(panel.config.bandwidth_policy);
            match monitor::enforce_bandwidth(panel, policy) {
                Ok(acted) if !acted.is_empty() => {
                    tracing::info!(?acted, ?policy, "bandwidth policy applied");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("bandwidth check failed: {e}"),
            }
        }
    }
}
