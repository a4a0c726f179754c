//! HS::Cron under the real cron daemon: a job runs as the account's user, and
//! not while the account is suspended.
//!
//! A test binary of its own: it spends about two and a half minutes waiting for
//! cron's minute ticks, and cargo runs it after the main suite instead of holding
//! one of that suite's threads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hs_testkit::{Sandbox, unique};
use serde_json::{Value, json};

fn ok(reply: hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The `uid epoch` lines the job has written so far.
fn runs(sandbox: &Sandbox, user: &str) -> Vec<(u32, u64)> {
    let path = sandbox.root.join("home").join(user).join("cron-runs");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let (uid, at) = l.split_once(' ').unwrap();
            (uid.parse().unwrap(), at.parse().unwrap())
        })
        .collect()
}

/// Waits (cron starts jobs on the minute) until the job has run after `since`.
/// cron notices a changed crontab at one minute tick and may start the job only
/// at the next, so this can take two minutes and a little.
fn wait_for_run(sandbox: &Sandbox, user: &str, since: u64) -> (u32, u64) {
    let deadline = Instant::now() + Duration::from_secs(190);
    loop {
        if let Some(run) = runs(sandbox, user).into_iter().find(|(_, at)| *at >= since) {
            return run;
        }
        assert!(Instant::now() < deadline, "the job did not run within 190 s");
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_job_runs_as_its_user_and_not_while_the_account_is_suspended() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("crone");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let me = sandbox.user(&alice, &password);
    let uid = nix::unistd::User::from_name(&alice).unwrap().unwrap().uid.as_raw();

    // `%` is cron's newline: the renderer's escaping is proven by the daemon itself.
    let command = "echo \"$(id -u) $(date +%s)\" >> $HOME/cron-runs";
    ok(me.call("cron/add", json!({ "schedule": "* * * * *", "command": command })));
    let (ran_as, _) = wait_for_run(&sandbox, &alice, 0);
    assert_eq!(ran_as, uid);
    let file = sandbox.root.join("home").join(&alice).join("cron-runs");
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), uid);

    // Suspended: no crontab, and no run from the first minute tick after that.
    ok(admin.call("account/suspend", json!({ "username": alice })));
    let suspended = now();
    assert_eq!(sandbox.crontab(&alice), None);
    let tick = (suspended + 5).div_ceil(60) * 60;
    while now() < tick + 10 {
        std::thread::sleep(Duration::from_secs(1));
    }
    let late: Vec<_> = runs(&sandbox, &alice).into_iter().filter(|(_, at)| *at >= tick).collect();
    assert!(late.is_empty(), "the job ran while suspended: {late:?}");

    // Unsuspended: the job is back in her crontab, exactly as it was.
    ok(admin.call("account/unsuspend", json!({ "username": alice })));
    assert_eq!(sandbox.cron_entries(&alice), [format!("* * * * * {}", escaped(command))]);
    let resumed = now();
    let (ran_as, _) = wait_for_run(&sandbox, &alice, resumed);
    assert_eq!(ran_as, uid);
}

/// A command as the crontab holds it: `%` escaped, since cron reads it as a newline.
fn escaped(command: &str) -> String {
    command.replace('\\', "\\\\").replace('%', "\\%")
}
