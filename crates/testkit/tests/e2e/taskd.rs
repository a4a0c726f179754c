//! hs-taskd, the job queue: a job dropped in `pending/` runs once with several
//! runners racing; a runner killed mid-job is replaced and the job's effect
//! happens exactly once; transient failures are retried with backoff; cancel;
//! the event stream shows progress to the job's owner and refuses other tenants;
//! a real job kind (`rebuild_web`) repairs an account's site.
//!
//! The `probe` job kind (sandbox only) makes runs observable: each start appends
//! a line to `queue/probe/{id}.starts`, and its effect appends the id to
//! `queue/probe/effects.log` once (idempotently).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hs_testkit::{Sandbox, binary, unique};
use serde_json::{Value, json};

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn queue(sb: &Sandbox, rel: &str) -> PathBuf {
    sb.layout_path("var/hspanel/queue").join(rel)
}

/// A job id no other test uses.
fn job_id(prefix: &str) -> String {
    unique(prefix)
}

/// Drops a job file into `pending/` the way any writer must: whole, by rename.
fn drop_raw(sb: &Sandbox, name: &str, text: &str) {
    let dir = queue(sb, "pending");
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(format!(".drop-{name}"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

fn drop_job(sb: &Sandbox, id: &str, task: Value, actor: (&str, &str), extra: Value) {
    let mut job = json!({
        "version": 1,
        "id": id,
        "task": task,
        "actor": { "name": actor.0, "role": actor.1 },
        "reason": "dropped by a test",
        "created": "2026-12-03T20:00:00Z",
    });
    for (k, v) in extra.as_object().unwrap() {
        job[k] = v.clone();
    }
    drop_raw(sb, &format!("{id}.json"), &job.to_string());
}

fn probe(account: Option<&str>, steps: u32, step_ms: u64, fail_times: u32) -> Value {
    json!({ "type": "probe", "params": {
        "account": account, "steps": steps, "step_ms": step_ms, "fail_times": fail_times } })
}

fn wait_done(sb: &Sandbox, id: &str, limit: Duration) -> Value {
    let path = queue(sb, &format!("done/{id}.json"));
    wait_for(&format!("done/{id}.json"), limit, || path.exists());
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn starts(sb: &Sandbox, id: &str) -> usize {
    let path = queue(sb, &format!("probe/{id}.starts"));
    std::fs::read_to_string(path).unwrap_or_default().lines().count()
}

fn effects(sb: &Sandbox, id: &str) -> usize {
    let text = std::fs::read_to_string(queue(sb, "probe/effects.log")).unwrap_or_default();
    text.lines().filter(|l| *l == id).count()
}

/// An extra hs-taskd on the sandbox, polling fast, to race the supervised one.
fn extra_runner(sb: &Sandbox) -> Child {
    Command::new(binary("hs-taskd"))
        .arg("--root")
        .arg(&sb.root)
        .args(["--workers", "3", "--poll-ms", "10", "--retry-base-ms", "300"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_dropped_job_runs_once_with_runners_racing() {
    let sb = Sandbox::start();
    let mut racers: Vec<Child> = (0..2).map(|_| extra_runner(&sb)).collect();

    let ids: Vec<String> = (0..12).map(|_| job_id("race")).collect();
    for id in &ids {
        drop_job(&sb, id, probe(None, 2, 30, 0), ("admin", "admin"), json!({}));
    }
    // A schedule seen by all three runners enqueues its task once.
    let schedule = json!({ "version": 1, "name": "race-hourly",
        "every": { "interval": { "seconds": 3600 } },
        "task": probe(None, 1, 10, 0), "reason": "hourly probe" });
    let sched_dir = queue(&sb, "schedules");
    std::fs::create_dir_all(&sched_dir).unwrap();
    std::fs::write(sched_dir.join(".tmp"), schedule.to_string()).unwrap();
    std::fs::rename(sched_dir.join(".tmp"), sched_dir.join("race-hourly.json")).unwrap();

    for id in &ids {
        let result = wait_done(&sb, id, Duration::from_secs(60));
        assert_eq!(result["outcome"], "succeeded", "{result}");
        assert_eq!(result["job"]["attempts"], 1, "{result}");
        assert_eq!(starts(&sb, id), 1, "{id} started more than once");
        assert_eq!(effects(&sb, id), 1, "{id}");
        // The result is written first, then the job leaves running/.
        let running = queue(&sb, &format!("running/{id}.json"));
        wait_for("running/ emptied", Duration::from_secs(5), || !running.exists());
        assert!(!queue(&sb, &format!("pending/{id}.json")).exists());
    }

    // The schedule ran once, as the scheduler.
    wait_for("the scheduled job", Duration::from_secs(20), || {
        std::fs::read_dir(queue(&sb, "done")).unwrap().flatten().any(|e| {
            let v: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            v["job"]["schedule"] == "race-hourly"
        })
    });
    std::thread::sleep(Duration::from_secs(2));
    let scheduled = std::fs::read_dir(queue(&sb, "done"))
        .unwrap()
        .flatten()
        .filter(|e| {
            let v: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            v["job"]["schedule"] == "race-hourly"
        })
        .count();
    assert_eq!(scheduled, 1);

    for racer in &mut racers {
        let _ = racer.kill();
        let _ = racer.wait();
    }
}

#[test]
fn a_hostile_job_file_is_rejected_and_never_run() {
    let sb = Sandbox::start();
    let admin = sb.admin();
    let before = admin.get("task/list", "").body["jobs"].as_array().unwrap().len();

    let evil = job_id("evil");
    let cases = [
        // An unknown kind.
        (
            format!("{evil}a.json"),
            json!({ "version": 1, "id": format!("{evil}a"),
            "task": { "type": "shell", "params": { "cmd": "touch /tmp/pwned" } },
            "actor": { "name": "admin", "role": "admin" }, "reason": "x",
            "created": "2026-12-03T20:00:00Z" })
            .to_string(),
        ),
        // A user name that would reach a config file.
        (
            format!("{evil}b.json"),
            json!({ "version": 1, "id": format!("{evil}b"),
            "task": { "type": "rebuild_web", "params": { "user": "../root" } },
            "actor": { "name": "admin", "role": "admin" }, "reason": "x",
            "created": "2026-12-03T20:00:00Z" })
            .to_string(),
        ),
        // The id inside is not the file's.
        (
            format!("{evil}c.json"),
            json!({ "version": 1, "id": "someone-else",
            "task": probe(None, 1, 1, 0), "actor": { "name": "admin", "role": "admin" },
            "reason": "x", "created": "2026-12-03T20:00:00Z" })
            .to_string(),
        ),
        ("not json.json".to_string(), "{{{".to_string()),
        ("README".to_string(), "hello".to_string()),
    ];
    for (name, text) in &cases {
        drop_raw(&sb, name, text);
    }
    for (name, _) in &cases {
        let rejected = queue(&sb, &format!("rejected/{name}"));
        wait_for(&format!("{name} rejected"), Duration::from_secs(15), || rejected.exists());
        assert!(queue(&sb, &format!("rejected/{name}.reason")).exists());
        assert!(!queue(&sb, &format!("pending/{name}")).exists());
    }
    assert!(!PathBuf::from("/tmp/pwned").exists());
    assert!(!queue(&sb, &format!("probe/{evil}c.starts")).exists());
    assert!(!queue(&sb, "probe/someone-else.starts").exists());
    let after = admin.get("task/list", "").body["jobs"].as_array().unwrap().len();
    assert_eq!(after, before);
}

#[test]
fn killing_taskd_mid_job_leads_to_exactly_one_completed_effect() {
    let sb = Sandbox::start();
    let id = job_id("kill");
    drop_job(&sb, &id, probe(None, 20, 150, 0), ("admin", "admin"), json!({}));

    // Wait until it is well under way, then kill the runner that holds it.
    let progress = queue(&sb, &format!("running/{id}.progress"));
    let mut pid = 0;
    wait_for("progress past 10%", Duration::from_secs(30), || {
        let Ok(bytes) = std::fs::read(&progress) else { return false };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else { return false };
        pid = v["pid"].as_u64().unwrap_or(0) as i32;
        v["percent"].as_u64().unwrap_or(0) >= 10
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    assert_eq!(effects(&sb, &id), 0);

    // `hspanel up` starts hs-taskd again; it resumes the job left in running/.
    let result = wait_done(&sb, &id, Duration::from_secs(60));
    assert_eq!(result["outcome"], "succeeded", "{result}");
    assert_eq!(result["job"]["attempts"], 2, "{result}");
    assert_eq!(starts(&sb, &id), 2);
    assert_eq!(effects(&sb, &id), 1);
    let log = std::fs::read_to_string(sb.layout_path("var/log/hspanel/hs-taskd.log")).unwrap();
    assert!(log.contains("resuming a job left by a dead runner"), "{log}");
}

#[test]
fn transient_failures_are_retried_with_backoff_then_given_up() {
    let sb = Sandbox::start();
    // Fails twice, then succeeds: waits of 300 ms and 600 ms in between.
    let flaky = job_id("flaky");
    let dropped = Instant::now();
    drop_job(&sb, &flaky, probe(None, 1, 10, 2), ("admin", "admin"), json!({}));
    let result = wait_done(&sb, &flaky, Duration::from_secs(30));
    assert_eq!(result["outcome"], "succeeded", "{result}");
    assert_eq!(result["job"]["attempts"], 3);
    assert_eq!(starts(&sb, &flaky), 3);
    assert_eq!(effects(&sb, &flaky), 1);
    assert!(dropped.elapsed() >= Duration::from_millis(900), "{:?}", dropped.elapsed());
    assert!(result["job"]["last_error"].as_str().unwrap().contains("planned failure 2"));

    // With two attempts allowed, a job that keeps failing is failed after two.
    let hopeless = job_id("hopeless");
    drop_job(
        &sb,
        &hopeless,
        probe(None, 1, 10, 5),
        ("admin", "admin"),
        json!({ "max_attempts": 2 }),
    );
    let result = wait_done(&sb, &hopeless, Duration::from_secs(30));
    assert_eq!(result["outcome"], "failed", "{result}");
    assert_eq!(result["job"]["attempts"], 2);
    assert!(result["message"].as_str().unwrap().contains("planned failure 2"));
    assert_eq!(effects(&sb, &hopeless), 0);

    // The CLI shows it.
    let out = sb.cli(&["--json", "task", "status", &hopeless], None);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "failed");
}

/// Reads server-sent events until `stop` says so; returns (event, data) pairs.
fn read_events(
    reader: &mut dyn BufRead,
    mut stop: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let (mut event, mut data) = (String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            return events;
        }
        let l = line.trim_end_matches('\n');
        if let Some(e) = l.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(d) = l.strip_prefix("data: ") {
            data = d.to_string();
        } else if l.is_empty() && !data.is_empty() {
            let value: Value = serde_json::from_str(&data).unwrap();
            let done = stop(&event, &value);
            events.push((event.clone(), value));
            data.clear();
            if done {
                return events;
            }
        }
    }
}

#[test]
fn progress_streams_to_the_owner_only_and_cancel_stops_the_job() {
    let sb = Sandbox::start();
    let admin = sb.admin();
    let alice = unique("alice");
    let bob = unique("bob");
    let alice_pw = sb.create_account(&admin, &alice, &format!("{alice}.test"));
    let bob_pw = sb.create_account(&admin, &bob, &format!("{bob}.test"));
    let reseller = unique("res");
    let reply = admin.call(
        "account/create",
        json!({ "username": reseller,
        "domain": format!("{reseller}.test"), "password": "Reseller-Pass-1", "reseller": true }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let as_alice = sb.user(&alice, &alice_pw);
    let as_bob = sb.user(&bob, &bob_pw);
    let mut as_reseller = hs_testkit::Client::new(&sb.info.admin_url);
    as_reseller.login(&reseller, "Reseller-Pass-1");

    let id = job_id("long");
    drop_job(&sb, &id, probe(Some(&alice), 100, 150, 0), ("admin", "admin"), json!({}));

    // The owner follows it live.
    let (status, kind, mut reader) = as_alice.stream("task/events", &format!("id={id}"));
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let seen = read_events(&mut *reader, |_, v| v["percent"].as_u64().unwrap_or(0) >= 3);
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.iter().all(|(e, v)| e == "progress" && v["id"] == id.as_str()));
    assert!(seen.iter().any(|(_, v)| v["state"] == "running"));

    // Another tenant, and a reseller that is not the account's, see nothing.
    for (who, client) in [("bob", &as_bob), ("reseller", &as_reseller)] {
        let (status, _, _) = client.stream("task/events", &format!("id={id}"));
        assert_eq!(status, 404, "{who} streams");
        assert_eq!(client.get("task/status", &format!("id={id}")).status, 404, "{who}");
        let reply = client.call("task/cancel", json!({ "id": id }));
        assert_eq!(reply.status, 404, "{who} cancels");
        let listed = client.get("task/list", "");
        assert_eq!(listed.status, 200);
        let ids: Vec<&str> = listed.body["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap())
            .collect();
        assert!(!ids.contains(&id.as_str()), "{who} lists it");
    }
    // The owner and the admin list it.
    for client in [&as_alice, &admin] {
        let listed = client.get("task/list", "");
        assert!(listed.body["jobs"].as_array().unwrap().iter().any(|j| j["id"] == id.as_str()));
    }
    assert_eq!(as_alice.get("task/events", "id=../etc").status, 400);

    // The owner cancels; the stream ends with the job cancelled.
    let reply = as_alice.call("task/cancel", json!({ "id": id }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["cancel_requested"], true);
    let rest = read_events(&mut *reader, |e, _| e == "done");
    let (last_event, last) = rest.last().unwrap();
    assert_eq!(last_event, "done");
    assert_eq!(last["state"], "cancelled", "{last}");
    assert_eq!(effects(&sb, &id), 0);
    let reply = as_alice.call("task/cancel", json!({ "id": id }));
    assert_eq!(reply.status, 409, "{}", reply.body);

    // A waiting job is cancelled at once (its retry is an hour away).
    let waiting = job_id("wait");
    drop_job(
        &sb,
        &waiting,
        probe(Some(&alice), 1, 1, 0),
        ("admin", "admin"),
        json!({ "not_before": "2099-01-01T00:00:00Z" }),
    );
    wait_for("the waiting job listed", Duration::from_secs(5), || {
        as_alice.get("task/status", &format!("id={waiting}")).status == 200
    });
    assert_eq!(as_alice.get("task/status", &format!("id={waiting}")).body["state"], "pending");
    let out = sb.cli(&["--json", "task", "cancel", &waiting], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result = wait_done(&sb, &waiting, Duration::from_secs(5));
    assert_eq!(result["outcome"], "cancelled");
    assert_eq!(starts(&sb, &waiting), 0);
}

#[test]
fn rebuild_web_repairs_a_site_and_is_the_owners_to_ask() {
    let sb = Sandbox::start();
    let admin = sb.admin();
    let alice = unique("alice");
    let bob = unique("bob");
    let domain = format!("{alice}.test");
    let alice_pw = sb.create_account(&admin, &alice, &domain);
    let bob_pw = sb.create_account(&admin, &bob, &format!("{bob}.test"));
    let map = sb.layout_path(&format!("etc/nginx/hspanel/sites/{domain}.map"));
    let good = std::fs::read_to_string(&map).unwrap();
    std::fs::write(&map, "# damaged by hand\n").unwrap();

    // Bob cannot queue work on Alice's account.
    let as_bob = sb.user(&bob, &bob_pw);
    let reply = as_bob.call("task/submit", json!({ "kind": "rebuild_web", "username": alice }));
    assert_eq!(reply.status, 403, "{}", reply.body);

    let as_alice = sb.user(&alice, &alice_pw);
    let reply = as_alice.call("task/submit", json!({ "kind": "rebuild_web", "reason": "repair" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_string();
    assert_eq!(reply.body["job"]["actor"]["name"], alice.as_str());

    let out = sb.cli(&["task", "watch", &id], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&map).unwrap(), good);
    let (status, _, _) = sb.web(&domain, "/");
    assert_ne!(status, 404);
    let st = as_alice.get("task/status", &format!("id={id}"));
    assert_eq!(st.body["state"], "succeeded", "{}", st.body);
    assert_eq!(st.body["output"]["site_maps"], 1);
    assert_eq!(as_bob.get("task/status", &format!("id={id}")).status, 404);

    // A bad kind or reason is refused with no file changed.
    let before = sb.tree_digest();
    let reply = as_alice.call("task/submit", json!({ "kind": "rm_rf" }));
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = as_alice.call("task/submit", json!({ "kind": "rebuild_dns", "reason": "a\nb" }));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(sb.tree_digest(), before);
}

#[test]
fn the_tasks_page_shows_live_progress_and_cancels() {
    use hs_testkit::browser::{Browser, screenshot_dir};

    let sb = Sandbox::start();
    let admin = sb.admin();
    let alice = unique("uitask");
    let password = sb.create_account(&admin, &alice, &format!("{alice}.test"));
    let id = job_id("ui");
    let reason = "<img src=x onerror=\"window.hsInjected=1\"><b class=evil>b</b>";
    drop_job(
        &sb,
        &id,
        probe(Some(&alice), 100, 200, 0),
        ("admin", "admin"),
        json!({ "reason": reason }),
    );
    let progress = queue(&sb, &format!("running/{id}.progress"));
    wait_for("the job to start", Duration::from_secs(20), || progress.exists());

    let browser = Browser::start();
    browser.log_in(&sb.info.user_url, &alice, &password);
    browser.click("nav a[data-page=tasks]");
    let bar = format!("document.querySelector('tr[data-key=\"{id}\"] progress')");
    browser.find(&format!("tr[data-key=\"{id}\"] progress"));
    let first = browser.script(&format!("return {bar}.value;"), json!([]));
    let first = first.as_f64().unwrap();
    // The page is not reloaded: only the event stream can move the bar.
    browser.wait_until(&format!("{bar}.value >= {} ", first + 5.0), "the bar to move");
    assert!(browser.text("main").contains("<b class=evil>"), "the reason shows as text");
    let injected = browser.script(
        "return document.querySelectorAll('main img, main b.evil').length \
         + (window.hsInjected ? 100 : 0);",
        json!([]),
    );
    assert_eq!(injected, json!(0));
    browser.screenshot(&screenshot_dir().join("user-tasks.png"));

    browser.click(&format!("tr[data-key=\"{id}\"] button"));
    let state = format!("document.querySelector('tr[data-key=\"{id}\"] .state')");
    browser.wait_until(&format!("{state}.textContent === 'cancelled'"), "cancelled shown");
    let result = wait_done(&sb, &id, Duration::from_secs(10));
    assert_eq!(result["outcome"], "cancelled");
}
