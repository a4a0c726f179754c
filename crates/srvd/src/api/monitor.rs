//! `/api/monitor/*`: HS::Monitor. The server, its services and the history are
//! the administrator's; usage and a domain's statistics are also the account
//! holder's own (on the user port) and a reseller's customers'.

use hs_modules::{ModuleError, monitor};
use hs_types::{DomainName, EmailAddress, LoadPercent, Percent};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{
    ADMIN_ONLY, ADMIN_PORT, ANYONE, Action, BOTH_PORTS, Call, FieldType as T, Reply, opt, req,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

fn server(c: &Call<'_>) -> Result<Reply, ApiError> {
    let _: Nothing = c.parse()?;
    c.json(monitor::server(&c.app.panel, &c.actor()?)?)
}

fn services(c: &Call<'_>) -> Result<Reply, ApiError> {
    let _: Nothing = c.parse()?;
    c.json(json!({ "services": monitor::services(&c.app.panel, &c.actor()?)? }))
}

fn usage(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    c.json(monitor::usage(&c.app.panel, &c.actor()?, &user)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryInput {
    #[serde(default = "day")]
    range: String,
}

fn day() -> String {
    "day".into()
}

fn history(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: HistoryInput = c.parse()?;
    let ring = monitor::history(&c.app.panel, &c.actor()?, &input.range)?;
    c.json(json!({ "range": input.range, "samples": ring.samples }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsInput {
    domain: DomainName,
    #[serde(default = "week")]
    days: u32,
}

fn week() -> u32 {
    7
}

fn stats(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: StatsInput = c.parse()?;
    c.json(monitor::stats(&c.app.panel, &c.actor()?, &input.domain, input.days)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsInput {
    disk_percent: Option<Percent>,
    inodes_percent: Option<Percent>,
    memory_percent: Option<Percent>,
    swap_percent: Option<Percent>,
    load_percent: Option<LoadPercent>,
    /// An address, or `""` to stop e-mailing alerts.
    admin_email: Option<String>,
}

fn set_thresholds(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ThresholdsInput = c.parse()?;
    let admin_email = match input.admin_email.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(text) => Some(Some(
            text.parse::<EmailAddress>().map_err(|e| ModuleError::Invalid(e.to_string()))?,
        )),
    };
    let change = monitor::ThresholdChange {
        disk_percent: input.disk_percent,
        inodes_percent: input.inodes_percent,
        memory_percent: input.memory_percent,
        swap_percent: input.swap_percent,
        load_percent: input.load_percent,
        admin_email,
    };
    let config = monitor::set_thresholds(&c.app.panel, &c.actor()?, change)?;
    c.json(json!({ "thresholds": config.thresholds, "admin_email": config.admin_email }))
}

pub const ACTIONS: &[Action] = &[
    Action {
        module: "monitor",
        name: "server",
        summary: "CPU, load, memory, disks, network, and the current alerts",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[],
        handler: server,
    },
    Action {
        module: "monitor",
        name: "services",
        summary: "Each managed service: process running, answering on its port or socket, \
                  and its last reload with the result",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[],
        handler: services,
    },
    Action {
        module: "monitor",
        name: "usage",
        summary: "An account's disk and this month's bandwidth against its plan",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[opt("username", T::String, "the account (admin port only)")],
        handler: usage,
    },
    Action {
        module: "monitor",
        name: "history",
        summary: "Server samples: `day` (every 5 minutes) or `months` (hourly)",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[opt("range", T::String, "day (default) or months")],
        handler: history,
    },
    Action {
        module: "monitor",
        name: "stats",
        summary: "A domain's web statistics by day and hour",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            req("domain", T::String, ""),
            opt("days", T::Integer, "days back from today, 1 to 366 (default 7)"),
        ],
        handler: stats,
    },
    Action {
        module: "monitor",
        name: "set_thresholds",
        summary: "Alert thresholds (percent) and the address alerts are e-mailed to",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[
            opt("disk_percent", T::Integer, "a filesystem's used space, 1-100 (default 90)"),
            opt("inodes_percent", T::Integer, "a filesystem's used inodes, 1-100 (default 90)"),
            opt("memory_percent", T::Integer, "memory in use, 1-100 (default 90)"),
            opt("swap_percent", T::Integer, "swap in use, 1-100 (default 90)"),
            opt("load_percent", T::Integer, "1-minute load, percent of the cores (default 200)"),
            opt("admin_email", T::String, "where alerts are e-mailed; \"\" stops e-mail"),
        ],
        handler: set_thresholds,
    },
];
