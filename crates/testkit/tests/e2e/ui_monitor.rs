//! The dashboards' monitor sections in headless Chromium: the administrator sees
//! the server's tiles, services with their last reload, alerts and the history
//! charts (SVG drawn by `chart.js`); an account holder sees disk and bandwidth
//! against the plan, mailboxes, and the per-domain charts. Screenshots go to
//! `ui-screenshots/monitor-*.png` for a reviewer.

use std::time::Duration;

use hs_testkit::browser::{Browser, screenshot_dir};
use hs_testkit::{Sandbox, unique};
use serde_json::{Value, json};

/// A day of 5-minute samples, as hs-logd's sampler writes them.
fn synthetic_history(root: &std::path::Path) {
    let now = jiff::Timestamp::now().as_second();
    let samples: Vec<Value> = (0..288)
        .map(|i| {
            let t = now - (287 - i) * 300;
            let x = i as f64 / 288.0 * std::f64::consts::TAU;
            json!({
                "time": jiff::Timestamp::from_second(t).unwrap().to_string(),
                "cpu_percent": (30.0 + 25.0 * x.sin()).round(),
                "load1": ((1.0 + 0.8 * (2.0 * x).sin()) * 100.0).round() / 100.0,
                "memory_percent": (55.0 + 10.0 * x.cos()).round(),
                "swap_percent": 3.0,
                "disk_percent": 41.0 + i as f64 / 100.0,
                "rx_bytes": i * 600_000 + (i * i) * 1000,
                "tx_bytes": i * 250_000,
            })
        })
        .collect();
    let path = root.join("usr/local/hspanel/logs/monitor/history-5min.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec(&json!({ "samples": samples })).unwrap()).unwrap();
}

#[test]
fn dashboards_show_the_server_usage_and_charts() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    synthetic_history(&sandbox.root);

    let plan = unique("uimon");
    let reply = admin
        .call("plan/save", json!({ "name": plan, "limits": { "bandwidth_mb": 5, "disk_mb": 50 } }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let alice = unique("alice");
    let domain = format!("{alice}.test");
    let password = "Site-Pass-2026!";
    let reply = admin.call(
        "account/create",
        json!({ "username": alice, "domain": domain, "password": password, "plan": plan }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let file = sandbox.root.join(format!("home/{alice}/public_html/big.bin"));
    std::fs::write(&file, vec![b'x'; 300 * 1024]).unwrap();
    for _ in 0..4 {
        assert_eq!(sandbox.web(&domain, "/big.bin").0, 200);
    }
    assert_eq!(sandbox.web(&domain, "/").0, 200);
    let maildir = sandbox.root.join(format!("var/mail/vhosts/{domain}/info/Maildir/new"));
    std::fs::create_dir_all(&maildir).unwrap();
    std::fs::write(maildir.join("1.mail"), vec![b'm'; 20 * 1024]).unwrap();
    let me = sandbox.user(&alice, password);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while me.call("monitor/usage", json!({})).body["bandwidth_bytes"].as_u64() < Some(1_200_000) {
        assert!(std::time::Instant::now() < deadline, "alice's bandwidth never showed");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The administrator: tiles, services with their last reload, history charts.
    let browser = Browser::start();
    browser.set_window_size(1280, 3000);
    browser.log_in(&sandbox.info.admin_url, &sandbox.info.admin_user, &sandbox.info.admin_password);
    browser.find(".chart-svg path.series");
    let charts =
        browser.script("return document.querySelectorAll('.chart-svg').length;", json!([]));
    assert!(charts.as_u64().unwrap() >= 5, "{charts}");
    let series = browser
        .script("return document.querySelectorAll('.chart-svg path.series').length;", json!([]));
    assert!(series.as_u64().unwrap() >= 6, "cpu, load, memory, swap, disk, rx, tx: {series}");
    let services = browser.text("main");
    for name in ["nginx", "bind", "mariadb", "hs-logd"] {
        assert!(services.contains(name), "{name} listed");
    }
    assert!(browser.exists("form[data-form=thresholds] input[name=disk_percent]"));
    browser.screenshot(&screenshot_dir().join("monitor-admin.png"));

    // The thresholds form saves through the API.
    browser.script(
        "const i = document.querySelector('form[data-form=thresholds] input[name=memory_percent]');\
         i.value = '85';",
        json!([]),
    );
    browser.click("form[data-form=thresholds] button[type=submit]");
    browser.wait_until(
        "document.querySelector('main').textContent.includes('Thresholds saved')",
        "the thresholds saved",
    );
    let s = admin.call("monitor/server", json!({})).body;
    assert_eq!(s["thresholds"]["memory_percent"], 85, "{}", s["thresholds"]);

    // alice: disk and bandwidth against her plan, her mailbox, her domain's charts.
    let browser = Browser::start();
    browser.set_window_size(1280, 2600);
    browser.log_in(&sandbox.info.user_url, &alice, password);
    browser.find(".chart-svg rect.bar");
    let text = browser.text("main");
    assert!(text.contains("Bandwidth this month (MB)"), "{text}");
    assert!(text.contains("Disk space (MB)"), "{text}");
    assert!(text.contains(&format!("info@{domain}")), "{text}");
    assert!(text.contains(&format!("Statistics of {domain}")), "{text}");
    assert!(text.contains("/big.bin"), "top pages: {text}");
    let meter = browser
        .script("return [...document.querySelectorAll('meter')].map(m => m.value);", json!([]));
    let values: Vec<f64> = meter.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(values.iter().any(|v| *v >= 1.1), "bandwidth meter ≥ 1.1 MB: {values:?}");
    browser.screenshot(&screenshot_dir().join("monitor-user.png"));
}
