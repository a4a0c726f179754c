//! HS::Mail: 1,000 mailboxes on one domain and 1,000 forwarders, created
//! through hs-srvd's API in one batch each (`mail/create_account` with
//! `accounts`, `mail/create_forwarder` with `forwarders`), against the
//! sandbox's real Postfix and Dovecot. Reported: the total time of each batch,
//! how many times Postfix was reloaded (each reload runs `postmap` once per
//! map), and for reference the cost of single calls (a map rebuild each).
//! The result is checked: every mailbox is in the Dovecot passwd-file and in
//! Postfix's map, every forwarder in the alias map, and one of each answers
//! `postmap -q`.

use std::time::Instant;

use hs_testkit::{Sandbox, unique};
use serde_json::json;

const MAILBOXES: usize = 1000;
const FORWARDERS: usize = 1000;
const SINGLES: usize = 10;

/// Postfix reloads so far (each rebuilds every map once).
fn reloads(sandbox: &Sandbox) -> usize {
    std::fs::read_to_string(sandbox.root.join("var/log/mail/mail.log"))
        .unwrap_or_default()
        .matches("refreshing the Postfix mail system")
        .count()
}

fn postmap_q(sandbox: &Sandbox, key: &str, map: &str) -> String {
    let out = std::process::Command::new("postmap")
        .arg("-c")
        .arg(sandbox.root.join("etc/postfix"))
        .arg("-q")
        .arg(key)
        .arg(format!("hash:{}", sandbox.root.join("etc/postfix").join(map).display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn run() -> anyhow::Result<serde_json::Value> {
    let mut sandbox = Sandbox::start();
    sandbox.restart_with_config(|text| {
        *text = text.replace("requests_per_second: 50", "requests_per_second: 100000");
    });
    let admin = sandbox.admin();
    let user = unique("bmail");
    let domain = format!("{user}.test");
    sandbox.create_account(&admin, &user, &domain);

    // A first mailbox makes it a mail domain (DKIM key, DNS records).
    let first = admin.call(
        "mail/create_account",
        json!({ "domain": domain, "user": "first", "password": "Bench-Pass-2026" }),
    );
    anyhow::ensure!(first.status == 200, "first mailbox: {}", first.body);

    let accounts: Vec<_> = (0..MAILBOXES)
        .map(|i| json!({ "user": format!("box{i:04}"), "password": "Bench-Pass-2026" }))
        .collect();
    let before = reloads(&sandbox);
    let started = Instant::now();
    let reply =
        admin.call("mail/create_account", json!({ "domain": domain, "accounts": accounts }));
    let mailboxes_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(reply.status == 200, "mailboxes: {}", reply.body);
    let mailbox_reloads = reloads(&sandbox) - before;

    let forwarders: Vec<_> = (0..FORWARDERS)
        .map(|i| {
            json!({ "source": format!("fwd{i:04}@{domain}"),
                    "dest": [format!("box{:04}@{domain}", i % MAILBOXES), "ext@example.net"] })
        })
        .collect();
    let before = reloads(&sandbox);
    let started = Instant::now();
    let reply = admin.call("mail/create_forwarder", json!({ "forwarders": forwarders }));
    let forwarders_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(reply.status == 200, "forwarders: {}", reply.body);
    let forwarder_reloads = reloads(&sandbox) - before;

    // Single calls, each rebuilding the maps, for comparison.
    let started = Instant::now();
    for i in 0..SINGLES {
        let body =
            json!({ "domain": domain, "user": format!("one{i}"), "password": "Bench-Pass-2026" });
        let reply = admin.call("mail/create_account", body);
        anyhow::ensure!(reply.status == 200, "single: {}", reply.body);
    }
    let single_ms = started.elapsed().as_secs_f64() * 1000.0 / SINGLES as f64;

    let passwd =
        std::fs::read_to_string(sandbox.root.join("etc/dovecot/hspanel-users").join(&domain))?;
    let lines = passwd.lines().count();
    anyhow::ensure!(lines == 1 + MAILBOXES + SINGLES, "passwd-file has {lines} lines");
    let last = format!("box{:04}@{domain}", MAILBOXES - 1);
    anyhow::ensure!(!postmap_q(&sandbox, &last, "virtual_mailbox_maps").is_empty());
    let fwd = postmap_q(&sandbox, &format!("fwd0007@{domain}"), "virtual_alias_maps");
    anyhow::ensure!(fwd.contains("ext@example.net"), "alias map: {fwd:?}");

    Ok(json!({
        "mailboxes": MAILBOXES,
        "mailboxes_seconds": (mailboxes_s * 100.0).round() / 100.0,
        "mailboxes_postfix_reloads": mailbox_reloads,
        "forwarders": FORWARDERS,
        "forwarders_seconds": (forwarders_s * 100.0).round() / 100.0,
        "forwarders_postfix_reloads": forwarder_reloads,
        "total_seconds": ((mailboxes_s + forwarders_s) * 100.0).round() / 100.0,
        "single_create_account_ms": single_ms.round(),
    }))
}
