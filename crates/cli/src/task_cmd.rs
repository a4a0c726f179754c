//! `hspanel task ...`: hs-taskd's jobs from the command line, as the administrator.
//! `watch` follows one job's progress until it ends (reading the queue's files
//! directly, as the API's event stream does).

use std::time::Duration;

use clap::Subcommand;
use hs_config::queue::{JobState, JobStatus, Task};
use hs_modules::task;
use hs_modules::{Actor, Panel};
use hs_types::JobId;

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum TaskCmd {
    /// Jobs, newest first.
    List {
        /// Only jobs in this state: pending, running, succeeded, failed, cancelled.
        #[arg(long)]
        state: Option<String>,
    },
    /// One job's state, progress and result.
    Status { id: String },
    /// Cancel a job: a waiting one at once, a running one at its next step.
    Cancel { id: String },
    /// Follow a job's progress until it ends; exit 1 unless it succeeded.
    Watch { id: String },
    /// Queue a rebuild of an account's files: KIND is rebuild-web or rebuild-dns.
    Submit {
        kind: String,
        username: String,
        #[arg(long, default_value = "asked for on the command line")]
        reason: String,
    },
}

pub(crate) fn run(panel: &Panel, admin: &Actor, out: &Out, cmd: TaskCmd) -> anyhow::Result<()> {
    match cmd {
        TaskCmd::List { state } => {
            let state = match state {
                Some(s) => Some(serde_json::from_value::<JobState>(serde_json::json!(s))?),
                None => None,
            };
            let jobs = task::list(panel, admin, state)?;
            let lines: Vec<String> = jobs.iter().map(line).collect();
            out.say(&serde_json::json!({ "jobs": jobs }), &lines.join("\n"))
        }
        TaskCmd::Status { id } => {
            let st = task::status(panel, admin, &id.parse()?)?;
            let text = line(&st);
            out.say(&st, &text)
        }
        TaskCmd::Cancel { id } => {
            let st = task::cancel(panel, admin, &id.parse()?)?;
            out.say(&st, &format!("cancel requested: {}", line(&st)))
        }
        TaskCmd::Watch { id } => watch(panel, admin, out, &id.parse()?),
        TaskCmd::Submit { kind, username, reason } => {
            let user = username.parse()?;
            let task = match kind.as_str() {
                "rebuild-web" | "rebuild_web" => Task::RebuildWeb { user },
                "rebuild-dns" | "rebuild_dns" => Task::RebuildDns { user },
                other => anyhow::bail!("unknown job kind {other:?}: rebuild-web or rebuild-dns"),
            };
            let job = task::submit(panel, admin, task, &reason)?;
            out.say(&job, &format!("queued job {}", job.id))
        }
    }
}

fn line(st: &JobStatus) -> String {
    let account = st.account.as_ref().map(|a| a.as_str()).unwrap_or("-");
    format!(
        "{}  {:<11} {:<10} {:>3}%  {:<12} {}",
        st.id,
        st.kind,
        format!("{:?}", st.state).to_lowercase(),
        st.percent,
        account,
        st.message
    )
}

fn watch(panel: &Panel, admin: &Actor, out: &Out, id: &JobId) -> anyhow::Result<()> {
    let mut last = String::new();
    loop {
        let st = task::status(panel, admin, id)?;
        let text = line(&st);
        if text != last {
            out.say(&st, &text)?;
            last = text;
        }
        if st.state.is_final() {
            if st.state == JobState::Succeeded {
                return Ok(());
            }
            anyhow::bail!("job {id} ended {:?}: {}", st.state, st.message);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
