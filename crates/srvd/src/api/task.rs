//! `/api/task/*`: hs-taskd's jobs (HS::Task). `list`, `status`, `cancel`,
//! `submit`, and `events`, a server-sent event stream of one job's progress.
//!
//! Every action shows only the jobs the caller may see (`hs_modules::task::visible`):
//! another tenant's job is a 404, on the stream as everywhere.
//!
//! The stream: `GET /api/task/events?id=ID` answers `text/event-stream`; a
//! `progress` event (the job's status as JSON) each time it changes, a comment
//! every 15 s to keep proxies from closing it, and a final `done` event, after
//! which the server closes it. The browser's `EventSource` follows it with no
//! polling loop of its own; the server reads the job's progress file every
//! 200 ms on a thread of its own.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use hs_config::queue::{JobState, JobStatus, Task};
use hs_modules::{Actor, Panel, task};
use hs_types::{JobId, Username};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::registry::{ANYONE, Action, BOTH_PORTS, Call, Field, FieldType as T, Reply, opt, req};

/// How often the stream looks at the job.
const STREAM_POLL: Duration = Duration::from_millis(200);
const KEEPALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long even if the job has not (the browser reconnects).
const STREAM_MAX: Duration = Duration::from_secs(3600);
/// Streams open at once in this hs-srvd (each holds a thread).
const MAX_STREAMS: usize = 256;
static OPEN_STREAMS: AtomicUsize = AtomicUsize::new(0);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdInput {
    id: JobId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListInput {
    #[serde(default)]
    state: Option<JobState>,
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ListInput = c.parse()?;
    let jobs = task::list(&c.app.panel, &c.actor()?, input.state)?;
    c.json(serde_json::json!({ "jobs": jobs }))
}

fn status(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: IdInput = c.parse()?;
    c.json(task::status(&c.app.panel, &c.actor()?, &input.id)?)
}

fn cancel(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: IdInput = c.parse()?;
    c.json(task::cancel(&c.app.panel, &c.actor()?, &input.id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum SubmitKind {
    RebuildWeb,
    RebuildDns,
    BackupDue,
    SslRenewDue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitInput {
    kind: SubmitKind,
    #[serde(default)]
    username: Option<Username>,
    #[serde(default)]
    reason: Option<String>,
    /// `ssl_renew_due`: renew what expires within this many days (default 30).
    #[serde(default)]
    within_days: Option<u32>,
}

/// Queues `task` for the caller (who must manage its account) and answers
/// with the job, for the actions that take `background`.
pub(crate) fn submit_job(c: &Call<'_>, task: Task, reason: &str) -> Result<JobStatus, ApiError> {
    let actor = c.actor()?;
    let job = task::submit(&c.app.panel, &actor, task, reason)?;
    Ok(task::status(&c.app.panel, &actor, &job.id)?)
}

fn submit(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SubmitInput = c.parse()?;
    let server_wide = matches!(input.kind, SubmitKind::BackupDue | SubmitKind::SslRenewDue);
    if server_wide && input.username.is_some() {
        return Err(ApiError::bad_request("this kind is server-wide: it takes no username"));
    }
    let within_days = input.within_days.unwrap_or(30);
    if !(1..=365).contains(&within_days) {
        return Err(ApiError::bad_request("within_days must be 1 to 365"));
    }
    let task = match input.kind {
        SubmitKind::RebuildWeb => Task::RebuildWeb { user: c.target(input.username)? },
        SubmitKind::RebuildDns => Task::RebuildDns { user: c.target(input.username)? },
        SubmitKind::BackupDue => Task::BackupDue,
        SubmitKind::SslRenewDue => Task::SslRenewDue { within_days },
    };
    let reason = input.reason.unwrap_or_else(|| "asked for through the API".into());
    let job = task::submit(&c.app.panel, &c.actor()?, task, &reason)?;
    c.json(task::status(&c.app.panel, &c.actor()?, &job.id)?)
}

fn events(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: IdInput = c.parse()?;
    let actor = c.actor()?;
    // Refused here, before any byte is sent, if the caller may not see the job.
    let first = task::status(&c.app.panel, &actor, &input.id)?;
    if OPEN_STREAMS.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
        OPEN_STREAMS.fetch_sub(1, Ordering::SeqCst);
        let msg = "too many progress streams are open; try again shortly";
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", msg));
    }
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    let panel = c.app.panel.clone();
    std::thread::spawn(move || {
        follow(&panel, &actor, &input.id, first, &tx);
        OPEN_STREAMS.fetch_sub(1, Ordering::SeqCst);
    });

    let mut response = Body::from_stream(EventStream(rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(Reply::Raw(response))
}

/// Sends the job's status each time it changes until it is final.
fn follow(
    panel: &Panel,
    actor: &Actor,
    id: &JobId,
    first: JobStatus,
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
) {
    let started = Instant::now();
    let mut last_sent = Instant::now();
    let mut last: Option<String> = None;
    let mut current = first;
    loop {
        let data = serde_json::to_string(&current).unwrap_or_default();
        if last.as_deref() != Some(data.as_str()) {
            if !send(tx, &format!("event: progress\ndata: {data}\n\n")) {
                return;
            }
            last = Some(data.clone());
            last_sent = Instant::now();
        } else if last_sent.elapsed() >= KEEPALIVE {
            if !send(tx, ": keepalive\n\n") {
                return;
            }
            last_sent = Instant::now();
        }
        if current.state.is_final() {
            let _ = send(tx, &format!("event: done\ndata: {data}\n\n"));
            return;
        }
        if tx.is_closed() || started.elapsed() >= STREAM_MAX {
            return;
        }
        std::thread::sleep(STREAM_POLL);
        current = match task::status(panel, actor, id) {
            Ok(st) => st,
            Err(e) => {
                let msg = serde_json::json!({ "message": e.to_string() });
                let _ = send(tx, &format!("event: error\ndata: {msg}\n\n"));
                return;
            }
        };
    }
}

fn send(tx: &mpsc::Sender<std::io::Result<Bytes>>, text: &str) -> bool {
    tx.blocking_send(Ok(Bytes::from(text.to_string()))).is_ok()
}

struct EventStream(mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for EventStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

const ID: Field = req("id", T::String, "the job's id");

pub const ACTIONS: &[Action] = &[
    Action {
        module: "task",
        name: "list",
        summary: "Jobs of the queue the caller may see, newest first (at most 200)",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[opt("state", T::String, "pending, running, succeeded, failed or cancelled")],
        handler: list,
    },
    Action {
        module: "task",
        name: "status",
        summary: "One job: state, percent, message, and its result once finished",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[ID],
        handler: status,
    },
    Action {
        module: "task",
        name: "cancel",
        summary: "Cancel a job: a waiting one at once, a running one at its next step",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[ID],
        handler: cancel,
    },
    Action {
        module: "task",
        name: "submit",
        summary: "Queue a rebuild of an account's web (rebuild_web) or DNS (rebuild_dns) files; \
                  the administrator may also queue the server-wide backup_due and ssl_renew_due",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            req("kind", T::String, "rebuild_web, rebuild_dns, backup_due or ssl_renew_due"),
            opt("username", T::String, "the account (admin port only)"),
            opt("reason", T::String, "why, one line (at most 200 characters)"),
            opt("within_days", T::Integer, "ssl_renew_due: renew what expires within (1-365)"),
        ],
        handler: submit,
    },
    Action {
        module: "task",
        name: "events",
        summary: "Server-sent events: the job's progress as it changes, until it ends",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[ID],
        handler: events,
    },
];
