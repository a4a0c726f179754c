//! HS::Monitor and hs-logd: exact web statistics through rotations and restarts,
//! hostile log lines, services seen down and up, usage and the bandwidth policy.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hs_testkit::{Client, Sandbox, unique};
use serde_json::{Value, json};

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn now_stamp() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%d/%b/%Y:%H:%M:%S +0000"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Known lines: `n` hits on `host` with byte counts `from..from+n`.
struct Expect {
    lines: String,
    hits: u64,
    bytes: u64,
}

fn lines(host: &str, n: u64, from: u64) -> Expect {
    let stamp = now_stamp();
    let mut text = String::new();
    for b in from..from + n {
        let ip = if b % 3 == 0 {
            format!("2001:db8::{:x}", b % 50)
        } else {
            format!("10.1.{}.{}", b / 250 % 250, b % 250)
        };
        text.push_str(&format!(
            "{host} {ip} - - [{stamp}] \"GET /page/{} HTTP/1.1\" 200 {b} \
             \"https://ref.test/\" \"Mozilla/5.0 (t)\"\n",
            b % 7
        ));
    }
    Expect { lines: text, hits: n, bytes: (from..from + n).sum() }
}

/// Lines nginx never writes, and valid ones for names not hosted here.
fn hostile(host: &str) -> (String, u64) {
    let stamp = now_stamp();
    let bad = [
        format!(
            "{host} 1.2.3.4 - - [{stamp}] \
             \"GET /\"}},{{\"hits\":999999,\"x\":\" HTTP/1.1\" 200 5 \"-\" \"a\""
        ),
        format!(
            "{host} 1.2.3.4 - - [{stamp}] \"GET /\u{1b}[2J\u{1b}[31m HTTP/1.1\" 200 5 \"-\" \"a\""
        ),
        format!(
            "{host} 1.2.3.4 - - [{stamp}] \"GET / HTTP/1.1\" 200 99999999999999999999 \"-\" \"a\""
        ),
        format!("{host} 1.2.3.4 - - [{stamp}] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\" \"extra\""),
        "{\"domain\":\"x\",\"hits\":1000}".to_string(),
        String::from_utf8_lossy(b"\xff\xfe\x00binary\x07").into_owned(),
        format!(
            "{host} 1.2.3.4 - - [{stamp}] \"GET /{} HTTP/1.1\" 200 5 \"-\" \"a\"",
            "A".repeat(40_000)
        ),
    ];
    let mut text: String = bad.iter().map(|l| format!("{l}\n")).collect();
    // Valid lines for names this server does not host: counted as unhosted.
    text.push_str(&format!(
        "../../etc 1.2.3.4 - - [{stamp}] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\"\n"
    ));
    text.push_str(&format!(
        "not-hosted.test 1.2.3.4 - - [{stamp}] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\"\n"
    ));
    (text, bad.len() as u64)
}

fn checkpoint(root: &Path) -> Value {
    let path = root.join("usr/local/hspanel/logs/logd/checkpoint.json");
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null)
}

/// hs-logd has read the current log to its end.
fn caught_up(root: &Path, log: &Path) {
    wait_for("hs-logd to catch up", Duration::from_secs(20), || {
        let cp = checkpoint(root);
        let Ok(meta) = std::fs::metadata(log) else { return false };
        cp["ino"].as_u64() == Some(meta.ino()) && cp["offset"].as_u64() == Some(meta.len())
    });
}

fn logd_pid(root: &Path) -> i32 {
    let text = std::fs::read_to_string(root.join("run/hspanel/hs-logd.pid")).unwrap();
    text.trim().parse().unwrap()
}

fn kill_logd(root: &Path) {
    let pid = logd_pid(root);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    wait_for("hs-logd to be restarted", Duration::from_secs(10), || {
        std::fs::read_to_string(root.join("run/hspanel/hs-logd.pid"))
            .is_ok_and(|t| t.trim().parse::<i32>().is_ok_and(|p| p != pid))
    });
}

fn month_totals(admin: &Client, domain: &str) -> (u64, u64, Value) {
    let reply = admin.call("monitor/stats", json!({ "domain": domain }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let m = &reply.body["month"];
    (m["hits"].as_u64().unwrap(), m["bytes"].as_u64().unwrap(), reply.body.clone())
}

#[test]
fn web_statistics_are_exact_through_rotations_restarts_and_hostile_lines() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("logs");
    let (d1, d2) = (format!("{user}.test"), format!("{user}-b.test"));
    sandbox.create_account(&admin, &user, &d1);
    let reply = admin.call("domain/add", json!({ "username": user, "domain": d2 }));
    assert_eq!(reply.status, 200, "{}", reply.body);

    let root = sandbox.root.clone();
    let log: PathBuf = root.join("var/log/nginx/hspanel-access.log");
    let mut expected = [(0u64, 0u64); 2];
    let mut add = |log: &Path, which: usize, e: Expect| {
        append(log, &e.lines);
        expected[which].0 += e.hits;
        expected[which].1 += e.bytes;
    };
    let mut rejected = 0;

    // Phase 1: plain lines, www. counting for its domain, and hostile lines.
    add(&log, 0, lines(&d1, 300, 1));
    add(&log, 0, lines(&format!("www.{d1}"), 20, 500));
    add(&log, 1, lines(&d2, 100, 1000));
    let (bad, n) = hostile(&d1);
    append(&log, &bad);
    rejected += n;
    caught_up(&root, &log);

    // Phase 2: hs-logd dies after writing the day files, before its checkpoint.
    std::fs::write(root.join("var/hspanel/fault"), "logd:before_checkpoint").unwrap();
    let pid = logd_pid(&root);
    add(&log, 0, lines(&d1, 200, 2000));
    add(&log, 1, lines(&d2, 50, 3000));
    wait_for("the injected crash", Duration::from_secs(10), || {
        std::fs::read_to_string(root.join("run/hspanel/hs-logd.pid"))
            .is_ok_and(|t| t.trim().parse::<i32>().is_ok_and(|p| p != pid))
    });
    caught_up(&root, &log);

    // Phase 3: rename + create; the old file still gets lines; hs-logd killed meanwhile.
    let rotated = root.join("var/log/nginx/hspanel-access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    add(&rotated, 1, lines(&d2, 10, 4000));
    add(&log, 0, lines(&d1, 150, 5000));
    kill_logd(&root);
    add(&log, 1, lines(&d2, 70, 6000));
    caught_up(&root, &log);

    // Phase 4: copy-truncate, then more lines, another restart.
    std::fs::copy(&log, root.join("var/log/nginx/hspanel-access.log.2")).unwrap();
    std::fs::File::create(&log).unwrap();
    add(&log, 0, lines(&d1, 120, 7000));
    add(&log, 1, lines(&d2, 30, 8000));
    caught_up(&root, &log);
    kill_logd(&root);
    add(&log, 0, lines(&d1, 5, 9000));
    caught_up(&root, &log);
    // A day file is written before its checkpoint: both are final here.
    let (h1, b1, stats) = month_totals(&admin, &d1);
    let (h2, b2, _) = month_totals(&admin, &d2);
    assert_eq!((h1, b1), expected[0], "{d1}");
    assert_eq!((h2, b2), expected[1], "{d2}");

    let cp = checkpoint(&root);
    let c = &cp["counters"];
    let total_rejected = c["rejected_bytes"].as_u64().unwrap()
        + c["rejected_shape"].as_u64().unwrap()
        + c["rejected_value"].as_u64().unwrap();
    assert_eq!(total_rejected, rejected, "{cp}");
    assert_eq!(c["unhosted"].as_u64(), Some(2), "{cp}");
    assert_eq!(c["accepted"].as_u64(), Some(expected[0].0 + expected[1].0), "{cp}");

    // The output holds the domains' real pages only, and no file for other names.
    let day = &stats["days"][0];
    assert!(day.get("state").is_none(), "internal state is not shown");
    let pages: Vec<&str> =
        day["pages"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert!(pages.iter().all(|p| p.starts_with("/page/")), "{pages:?}");
    assert_eq!(day["status"], json!({ "200": day["hits"] }));
    assert!(day["visitors"].as_u64().unwrap() > 100);
    assert_eq!(day["referrers"][0]["key"], "https://ref.test/");
    let mut web: Vec<String> = std::fs::read_dir(root.join("usr/local/hspanel/logs/web"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    web.sort();
    let mut hosted = vec![d1.clone(), d2.clone()];
    hosted.sort();
    assert_eq!(web, hosted);
}

fn service(admin: &Client, name: &str) -> Value {
    let reply = admin.call("monitor/services", json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list = reply.body["services"].as_array().unwrap();
    list.iter().find(|s| s["name"] == name).cloned().unwrap()
}

#[test]
fn a_stopped_service_shows_down_then_up_and_the_server_is_reported() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let names = ["nginx", "php-fpm", "hs-srvd", "hs-logd", "hs-taskd", "postfix", "dovecot"];
    for name in names.into_iter().chain(["opendkim", "spamd", "bind", "mariadb", "cron"]) {
        assert_eq!(service(&admin, name)["up"], true, "{name}");
    }

    // nginx stops (gracefully, workers included); `hspanel up` restarts it after 2 s.
    let pid: i32 = std::fs::read_to_string(sandbox.root.join("run/nginx.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGQUIT).unwrap();
    wait_for("nginx down", Duration::from_secs(5), || service(&admin, "nginx")["up"] == false);
    wait_for("nginx up again", Duration::from_secs(20), || service(&admin, "nginx")["up"] == true);
    assert_eq!(sandbox.web("nobody.test", "/").0, 404, "nginx answers again");

    let reply = admin.call("monitor/server", json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let s = &reply.body;
    assert!(s["cpu"]["cores"].as_u64().unwrap() >= 1);
    assert!(s["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(!s["filesystems"].as_array().unwrap().is_empty());
    assert!(s["network"].as_array().unwrap().iter().any(|n| n["interface"] == "lo"));
    assert!(s["alerts"].is_array());
    let reply = admin.call("monitor/history", json!({ "range": "day" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!reply.body["samples"].as_array().unwrap().is_empty(), "hs-logd sampled at start");
    let reply = admin.call("monitor/history", json!({ "range": "years" }));
    assert_eq!(reply.status, 400, "{}", reply.body);

    let out = sandbox.cli(&["--json", "monitor", "services"], None);
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> =
        list["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"nginx") && names.contains(&"bind"), "{names:?}");
}

#[test]
fn usage_is_shown_to_its_owner_and_the_bandwidth_limit_applies_the_policy() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let plan = unique("bw");
    let reply = admin.call(
        "plan/save",
        json!({ "name": plan, "limits": { "bandwidth_mb": 1, "disk_mb": 100 } }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let alice = unique("alice");
    let domain = format!("{alice}.test");
    let reply = admin.call(
        "account/create",
        json!({ "username": alice, "domain": domain, "password": "Site-Pass-2026!", "plan": plan }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let bob = unique("bob");
    let bob_domain = format!("{bob}.test");
    sandbox.create_account(&admin, &bob, &bob_domain);

    // 400 KB in alice's site, fetched three times: 1.2 MB of her 1 MB a month.
    let file = sandbox.root.join(format!("home/{alice}/public_html/big.bin"));
    std::fs::write(&file, vec![b'x'; 400 * 1024]).unwrap();
    for _ in 0..3 {
        assert_eq!(sandbox.web(&domain, "/big.bin").0, 200);
    }

    let me = sandbox.user(&alice, "Site-Pass-2026!");
    wait_for("alice's bandwidth", Duration::from_secs(20), || {
        me.call("monitor/usage", json!({})).body["bandwidth_bytes"].as_u64() >= Some(1_228_800)
    });
    let usage = me.call("monitor/usage", json!({})).body;
    assert!(usage["disk_used_bytes"].as_u64().unwrap() >= 400 * 1024, "{usage}");
    assert_eq!(usage["bandwidth_limit_mb"], 1);
    assert_eq!(usage["over_bandwidth"], true);
    assert_eq!(usage["domains"][0]["domain"], domain.as_str());
    let reply = admin.call("monitor/usage", json!({ "username": alice }));
    assert_eq!(reply.body["bandwidth_bytes"], usage["bandwidth_bytes"]);

    // Tenants see their own only.
    assert_eq!(me.call("monitor/usage", json!({ "username": bob })).status, 403);
    assert_eq!(me.call("monitor/stats", json!({ "domain": bob_domain })).status, 404);
    assert_eq!(me.call("monitor/stats", json!({ "domain": domain })).status, 200);
    assert_eq!(me.call("monitor/server", json!({})).status, 404);

    // Default policy: notify. The alert is listed; the site still serves.
    wait_for("the bandwidth alert", Duration::from_secs(20), || {
        let alerts = admin.call("monitor/server", json!({})).body["alerts"].clone();
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "bandwidth" && a["subject"].as_str().unwrap().starts_with(&alice))
    });
    assert_eq!(sandbox.web(&domain, "/big.bin").0, 200);

    // Policy suspend: hs-logd reads it at its next check and suspends alice only.
    let config = sandbox.root.join("etc/hspanel/hspanel.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("bandwidth_policy: notify"), "{text}");
    std::fs::write(&config, text.replace("bandwidth_policy: notify", "bandwidth_policy: suspend"))
        .unwrap();
    wait_for("alice suspended", Duration::from_secs(20), || sandbox.web(&domain, "/").0 == 503);
    let reply = admin.call("account/show", json!({ "username": alice }));
    assert_eq!(reply.body["suspend_reason"], "bandwidth limit exceeded", "{}", reply.body);
    assert_eq!(sandbox.web(&bob_domain, "/").0, 200);
}
