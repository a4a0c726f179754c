//! The runner's core guarantees on a bare queue folder (no services needed: the
//! `probe` kind only writes files): many runners racing run each job once, a job
//! a dead runner left is resumed, a retry waits in `pending/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use hs_config::queue::{self, JobState, Probe, Requester, Task};
use hs_config::{Layout, PanelConfig};
use hs_modules::Panel;
use hs_taskd::Runner;

fn runner(dir: &std::path::Path) -> Runner {
    runner_with(dir, Duration::from_millis(50))
}

fn runner_with(dir: &std::path::Path, retry_base: Duration) -> Runner {
    let layout = Layout::sandbox(dir);
    let config = PanelConfig::system_default("server.test".parse().unwrap());
    let pipeline = hs_services::pipeline(&layout, &config);
    Runner::new(Panel::new(layout, config, pipeline), retry_base)
}

fn probe(steps: u32, fail_times: u32) -> Task {
    Task::Probe(Probe { account: None, steps, step_ms: 5, fail_times })
}

fn starts(layout: &Layout, id: &hs_types::JobId) -> usize {
    let path = layout.queue().join(format!("probe/{id}.starts"));
    std::fs::read_to_string(path).unwrap_or_default().lines().count()
}

#[test]
fn racing_runners_run_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::sandbox(dir.path());
    let jobs: Vec<_> = (0..40)
        .map(|_| queue::enqueue(&layout, probe(2, 0), Requester::scheduler(), "race").unwrap())
        .collect();

    // Two runners (two "processes") with four workers each.
    let runners = [Arc::new(runner(dir.path())), Arc::new(runner(dir.path()))];
    let mut threads = Vec::new();
    for r in &runners {
        for _ in 0..4 {
            let r = Arc::clone(r);
            threads.push(std::thread::spawn(move || while r.work_once() {}));
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    for job in &jobs {
        let st = queue::status(&layout, &job.id).unwrap().unwrap();
        assert_eq!(st.state, JobState::Succeeded, "{}", job.id);
        assert_eq!(st.job.attempts, 1);
        assert_eq!(starts(&layout, &job.id), 1, "{} ran twice", job.id);
    }
    let effects = std::fs::read_to_string(layout.queue().join("probe/effects.log")).unwrap();
    assert_eq!(effects.lines().count(), jobs.len());
    assert!(queue::valid_ids(&layout.queue_running()).is_empty());
}

#[test]
fn a_job_left_in_running_is_resumed_and_a_held_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::sandbox(dir.path());
    let r = runner(dir.path());

    // A runner died after claiming (and counting an attempt).
    let mut job = queue::Job::new(probe(1, 0), Requester::scheduler(), "orphan").unwrap();
    job.attempts = 1;
    let running = layout.queue_running().join(queue::job_file(&job.id));
    hs_config::fsutil::write_atomic(&running, &job.to_bytes().unwrap(), 0o600).unwrap();

    // While someone holds its lock it is not touched.
    let held = queue::JobLock::try_acquire(&layout, &job.id).unwrap().unwrap();
    assert!(!r.work_once());
    drop(held);

    assert!(r.work_once());
    let st = queue::status(&layout, &job.id).unwrap().unwrap();
    assert_eq!(st.state, JobState::Succeeded);
    assert_eq!(st.job.attempts, 2);
    assert!(!running.exists());
}

#[test]
fn a_transient_failure_waits_in_pending_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::sandbox(dir.path());
    let r = runner_with(dir.path(), Duration::from_secs(2));
    let job = queue::enqueue(&layout, probe(1, 1), Requester::scheduler(), "flaky").unwrap();

    let before = jiff::Timestamp::now();
    assert!(r.work_once());
    let st = queue::status(&layout, &job.id).unwrap().unwrap();
    assert_eq!(st.state, JobState::Pending);
    assert!(st.job.not_before.is_some());
    assert!(st.message.contains("planned failure 1"), "{}", st.message);
    let wait = st.job.not_before.unwrap().duration_since(before);
    assert!(wait >= jiff::SignedDuration::from_secs(2), "{wait:?}");
    // Not before its time.
    assert!(!r.work_once());
    std::thread::sleep(Duration::from_millis(2100));
    assert!(r.work_once());
    let st = queue::status(&layout, &job.id).unwrap().unwrap();
    assert_eq!(st.state, JobState::Succeeded);
    assert_eq!(st.job.attempts, 2);
}
