//! hs-logd beyond the web log: real DNS queries (dig against the sandbox's named)
//! counted per zone from BIND's query log; Postfix and Dovecot log lines in their
//! real formats counted per mailbox through rotation, restarts and hostile lines;
//! mailbox and database sizes in the usage; the admin's alert thresholds, their
//! alerts and e-mail; each service's last reload.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hs_testkit::{Client, Sandbox, unique};
use serde_json::{Value, json};

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn append(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn stats(client: &Client, domain: &str) -> Value {
    let reply = client.call("monitor/stats", json!({ "domain": domain, "days": 2 }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// A counter of today's tally (`dns` or `mail`), summed over the days shown.
fn tally(body: &Value, section: &str, key: &str, counter: &str) -> u64 {
    body[section].as_array().unwrap().iter().filter_map(|d| d["by"][key][counter].as_u64()).sum()
}

#[test]
fn dns_queries_are_counted_per_zone_from_binds_query_log() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("dnsq");
    let zone = format!("{user}.test");
    sandbox.create_account(&admin, &user, &zone);

    // The zone answers (SOA queries until it does: they count too, as SOA).
    wait_for("the zone to load", Duration::from_secs(20), || !sandbox.dig(&zone, "SOA").is_empty());
    for _ in 0..3 {
        assert!(!sandbox.dig(&zone, "A").is_empty());
    }
    sandbox.dig(&format!("www.{}", zone.to_uppercase()), "AAAA");
    sandbox.dig(&zone, "MX");
    sandbox.dig(&zone, "MX");
    // Names of no hosted zone: answered REFUSED, counted as unhosted, no files.
    sandbox.dig("not-hosted-here.test", "A");
    sandbox.dig("x\"},{\"y.test", "TXT");

    wait_for("the queries in the stats", Duration::from_secs(20), || {
        let body = stats(&admin, &zone);
        tally(&body, "dns", "MX", "queries") == 2
    });
    let body = stats(&admin, &zone);
    assert_eq!(tally(&body, "dns", "A", "queries"), 3, "{body}");
    assert_eq!(tally(&body, "dns", "AAAA", "queries"), 1, "{body}");
    assert_eq!(tally(&body, "dns", "MX", "queries"), 2, "{body}");
    let soa = tally(&body, "dns", "SOA", "queries");
    assert!(soa >= 1, "{body}");
    assert_eq!(body["month"]["dns_queries"].as_u64(), Some(soa + 6), "{body}");
    assert!(body["dns"][0].get("state").is_none());
    let dirs: Vec<String> = std::fs::read_dir(sandbox.root.join("usr/local/hspanel/logs/dns"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(dirs, std::slice::from_ref(&zone));
    wait_for("the unhosted queries counted", Duration::from_secs(20), || {
        checkpoint(&sandbox.root, "named")["counters"]["unhosted"].as_u64() >= Some(2)
    });

    // The account holder sees the same figures for their own zone only.
    let other = unique("dnso");
    let password = sandbox.create_account(&admin, &other, &format!("{other}.test"));
    let me = sandbox.user(&other, &password);
    assert_eq!(me.call("monitor/stats", json!({ "domain": zone })).status, 404);
}

fn checkpoint(root: &Path, stream: &str) -> Value {
    let path = root.join(format!("usr/local/hspanel/logs/logd/checkpoint-{stream}.json"));
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null)
}

fn caught_up(root: &Path, stream: &str, log: &Path) {
    wait_for(&format!("hs-logd to read {stream}"), Duration::from_secs(20), || {
        let cp = checkpoint(root, stream);
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

/// The syslog-style local time Postfix and Dovecot put first.
fn stamp() -> String {
    let out = std::process::Command::new("date").arg("+%b %d %H:%M:%S").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `n` messages from `from` to `to` as Postfix logs them (pickup, cleanup, qmgr,
/// delivery by LMTP, removal): one `sent` for `from`, one `received` for `to`.
fn postfix_mail(n: usize, from: &str, to: &str, seq: &mut u64) -> String {
    let t = stamp();
    let mut text = String::new();
    for _ in 0..n {
        *seq += 1;
        let q = format!("4F{:09X}", *seq);
        text.push_str(&format!(
            "{t} mail postfix/pickup[4101]: {q}: uid=0 from=<{from}>\n\
             {t} mail postfix/cleanup[4102]: {q}: message-id=<{q}@mail.x.test>\n\
             {t} mail postfix/qmgr[4103]: {q}: from=<{from}>, size=412, nrcpt=1 (queue active)\n\
             {t} mail postfix/lmtp[4104]: {q}: to=<{to}>, relay=mail.x.test[private/dovecot-lmtp], \
             delay=0.05, delays=0.01/0/0.01/0.03, dsn=2.0.0, status=sent (250 2.0.0 <{to}> \
             abc Saved)\n\
             {t} mail postfix/qmgr[4103]: {q}: removed\n"
        ));
    }
    text
}

/// `n` LMTP saves and one IMAP login for `to`, as Dovecot logs them.
fn dovecot_mail(n: usize, to: &str) -> String {
    let t = stamp();
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "{t} lmtp({to})<7405><Wc8gI{i}>: Info: msgid=<m{i}@x.test>: saved mail to INBOX\n"
        ));
    }
    text.push_str(&format!(
        "{t} imap-login: Info: Login: user=<{to}>, method=PLAIN, rip=127.0.0.1, \
         lip=127.0.0.1, mpid=7410, session=<s1>\n\
         {t} imap({to})<7410><s1>: Info: Disconnected: Logged out in=30 out=421\n"
    ));
    text
}

/// Lines nobody wrote: each is rejected, none counts.
fn hostile_mail(domain: &str) -> (String, String, u64) {
    let t = stamp();
    let postfix = [
        format!(
            "{t} mail postfix/virtual[1]: 4FAAAAAAAA: to=<a\"}},{{\"sent\":999@{domain}>, \
             relay=virtual, dsn=2.0.0, status=sent (x)"
        ),
        format!("{t} mail postfix/pickup[1]: 4FAAAAAAAB: uid=0 from=<x\u{1b}[2J@{domain}>"),
        format!("{{\"address\":\"bob@{domain}\",\"sent\":1000}}"),
        String::from_utf8_lossy(b"\xff\xfe\x00binary\x07").into_owned(),
        format!("{t} mail postfix/pickup[1]: 4FAAAAAAAC: uid=0 from=<bob@{domain}"),
        format!(
            "{t} mail postfix/pickup[1]: 4FAAAAAAAD: uid=0 from=<{}@{domain}>",
            "b".repeat(30_000)
        ),
    ];
    let dovecot = [
        format!("{t} imap-login: Info: Login: user=<bob\"}}{{@{domain}>, method=PLAIN"),
        format!("{t} lmtp(bob@{domain})<1><x>: Bogus: msgid=<a>: saved mail to INBOX"),
    ];
    let join = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    (join(&postfix), join(&dovecot), (postfix.len() + dovecot.len()) as u64)
}

#[test]
fn mail_is_counted_per_mailbox_through_rotation_restarts_and_hostile_lines() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("mailc");
    let domain = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &domain);
    let (bob, carol) = (format!("bob@{domain}"), format!("carol@{domain}"));
    let root = sandbox.root.clone();
    let postfix = root.join("var/log/mail/mail.log");
    let dovecot = root.join("var/log/mail/dovecot.log");
    let mut seq = 0;

    // Phase 1: plain lines, hostile lines, and mail of a domain not hosted here.
    append(&postfix, &postfix_mail(30, &bob, &carol, &mut seq));
    append(&postfix, &postfix_mail(10, &carol, &bob, &mut seq));
    append(&postfix, &postfix_mail(5, "eve@elsewhere.test", &bob, &mut seq));
    append(&dovecot, &dovecot_mail(30, &carol));
    let (bad_postfix, bad_dovecot, rejected) = hostile_mail(&domain);
    append(&postfix, &bad_postfix);
    append(&dovecot, &bad_dovecot);
    caught_up(&root, "postfix", &postfix);
    caught_up(&root, "dovecot", &dovecot);

    // Phase 2: Postfix's log renamed (its own `maillog_file` rotation) while the
    // old file still gets a line; hs-logd killed in between.
    let rotated = root.join("var/log/mail/mail.log.1");
    std::fs::rename(&postfix, &rotated).unwrap();
    append(&rotated, &postfix_mail(2, &bob, &carol, &mut seq));
    append(&postfix, &postfix_mail(20, &bob, &carol, &mut seq));
    kill_logd(&root);
    append(&postfix, &postfix_mail(3, &carol, &bob, &mut seq));
    caught_up(&root, "postfix", &postfix);

    // Phase 3: Dovecot's log copied and truncated (logrotate's copytruncate),
    // refilled, another restart.
    std::fs::copy(&dovecot, root.join("var/log/mail/dovecot.log.1")).unwrap();
    std::fs::File::create(&dovecot).unwrap();
    append(&dovecot, &dovecot_mail(25, &carol));
    caught_up(&root, "dovecot", &dovecot);
    kill_logd(&root);
    append(&dovecot, &dovecot_mail(4, &bob));
    caught_up(&root, "dovecot", &dovecot);
    caught_up(&root, "postfix", &postfix);

    let body = stats(&admin, &domain);
    assert_eq!(tally(&body, "mail", &bob, "sent"), 30 + 2 + 20, "{body}");
    assert_eq!(tally(&body, "mail", &carol, "received"), 30 + 2 + 20, "{body}");
    assert_eq!(tally(&body, "mail", &carol, "sent"), 10 + 3, "{body}");
    assert_eq!(tally(&body, "mail", &bob, "received"), 10 + 3 + 5, "{body}");
    assert_eq!(tally(&body, "mail", &carol, "stored"), 30 + 25, "{body}");
    assert_eq!(tally(&body, "mail", &carol, "logins"), 2, "{body}");
    assert_eq!(tally(&body, "mail", &bob, "stored"), 4, "{body}");
    let keys: Vec<&String> = body["mail"][0]["by"].as_object().unwrap().keys().collect();
    assert_eq!(keys, [&bob, &carol], "no key from a hostile line");
    let counters = |s: &str| checkpoint(&root, s)["counters"].clone();
    let rejected_of = |c: &Value| {
        ["rejected_bytes", "rejected_shape", "rejected_value"]
            .iter()
            .map(|k| c[k].as_u64().unwrap())
            .sum::<u64>()
    };
    let (p, d) = (counters("postfix"), counters("dovecot"));
    assert_eq!(rejected_of(&p) + rejected_of(&d), rejected, "{p} {d}");
    assert_eq!(p["unhosted"], 5, "eve's 5 submissions are not ours: {p}");
    let dirs: Vec<String> = std::fs::read_dir(root.join("usr/local/hspanel/logs/mail"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(dirs, std::slice::from_ref(&domain));

    // Mailbox sizes (Dovecot's folders) and database sizes join the usage.
    let maildir = root.join(format!("var/mail/vhosts/{domain}/bob/Maildir/cur"));
    std::fs::create_dir_all(&maildir).unwrap();
    std::fs::write(maildir.join("1.mail"), vec![b'm'; 64 * 1024]).unwrap();
    let me = sandbox.user(&user, &password);
    let db = format!("{user}_shop");
    let reply = me.call("database/create_db", json!({ "name": db }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    sandbox.mysql_root(&format!(
        "CREATE TABLE `{db}`.t (x VARCHAR(200)); INSERT INTO `{db}`.t VALUES (REPEAT('a', 200));"
    ));
    let usage = me.call("monitor/usage", json!({})).body;
    let mailbox = &usage["mailboxes"][0];
    assert_eq!(mailbox["address"], bob.as_str(), "{usage}");
    assert!(mailbox["size_bytes"].as_u64().unwrap() >= 64 * 1024, "{usage}");
    assert_eq!(mailbox["sent"], 52, "{usage}");
    assert_eq!(mailbox["received"], 18, "{usage}");
    assert_eq!(usage["databases"][0]["name"], db.as_str(), "{usage}");
    assert!(usage["database_bytes"].as_u64().unwrap() > 0, "{usage}");
}

#[test]
fn thresholds_are_validated_and_alerts_are_shown_and_mailed() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("thr");
    let password = sandbox.create_account(&admin, &user, &format!("{user}.test"));

    // Refused values change no file.
    let me = sandbox.user(&user, &password);
    let before = sandbox.tree_digest();
    for bad in [
        json!({ "disk_percent": 0 }),
        json!({ "disk_percent": 101 }),
        json!({ "memory_percent": "90" }),
        json!({ "load_percent": 5 }),
        json!({ "admin_email": "root@localhost\nBcc: x@y.test" }),
        json!({ "admin_email": "not an address" }),
        json!({ "colour": "red" }),
    ] {
        let reply = admin.call("monitor/set_thresholds", bad.clone());
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    assert_eq!(me.call("monitor/set_thresholds", json!({ "disk_percent": 1 })).status, 404);
    assert_eq!(before, sandbox.tree_digest(), "a refused request changed files");

    // 1 % disk is surely crossed: hs-logd raises the alert and e-mails it.
    let to = format!("admin@{user}.test");
    let reply =
        admin.call("monitor/set_thresholds", json!({ "disk_percent": 1, "admin_email": to }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["thresholds"]["disk_percent"], 1);
    assert_eq!(reply.body["thresholds"]["memory_percent"], 90, "unchanged");
    let config = std::fs::read_to_string(sandbox.root.join("etc/hspanel/hspanel.yaml")).unwrap();
    assert!(config.contains("disk_percent: 1"), "{config}");

    let alerts = sandbox.root.join("usr/local/hspanel/logs/monitor/alerts.json");
    let mut recorded = Value::Null;
    wait_for("the disk alert", Duration::from_secs(20), || {
        let all: Value = std::fs::read(&alerts)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let found = all["alerts"].as_array().and_then(|l| l.iter().find(|a| a["kind"] == "disk"));
        recorded = found.cloned().unwrap_or(Value::Null);
        !recorded.is_null()
    });
    // Debian's sendmail hands the message to Postfix only where Postfix is
    // configured; elsewhere the alert records why it was not sent.
    let mail = recorded["mail"].as_str().unwrap();
    if Path::new("/etc/postfix/main.cf").exists() {
        assert_eq!(mail, format!("sent to {to}"), "{recorded}");
    } else {
        assert!(mail.starts_with(&format!("not sent to {to}: ")), "{recorded}");
    }
    let server = admin.call("monitor/server", json!({})).body;
    assert_eq!(server["thresholds"]["disk_percent"], 1);
    let live = server["alerts"].as_array().unwrap();
    assert!(live.iter().filter(|a| a["kind"] == "disk").count() >= 2, "live and recorded");

    // Raised once: a later check does not record (or mail) it again.
    std::thread::sleep(Duration::from_secs(5));
    let all: Value = serde_json::from_slice(&std::fs::read(&alerts).unwrap()).unwrap();
    let disk = all["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "disk").count();
    let mounts: std::collections::BTreeSet<&str> = all["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "disk")
        .map(|a| a["subject"].as_str().unwrap())
        .collect();
    assert_eq!(disk, mounts.len(), "one alert per filesystem: {all}");

    // Every service is listed; a reload through the pipeline is recorded with its result.
    let services = admin.call("monitor/services", json!({})).body;
    let list = services["services"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
    for name in ["nginx", "php-fpm", "bind", "mariadb", "cron", "pure-ftpd", "hs-srvd", "hs-logd"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let nginx = list.iter().find(|s| s["name"] == "nginx").unwrap();
    assert_eq!(nginx["last_reload"]["ok"], true, "{nginx}");
    assert_eq!(nginx["last_reload"]["action"], "reload", "{nginx}");
    let bind = list.iter().find(|s| s["name"] == "bind").unwrap();
    assert_eq!(bind["up"], true, "{bind}");
    assert!(bind["last_reload"]["time"].is_string(), "the account's zone was loaded: {bind}");
}

#[test]
fn web_server_errors_are_counted_per_domain_from_nginxs_error_log() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("errs");
    let domain = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &domain);
    let me = sandbox.user(&user, &password);

    // A folder without an index: nginx refuses to list it and logs an error,
    // for the name asked (www. counts for its domain).
    let empty = sandbox.layout_path(&format!("home/{user}/public_html/empty"));
    std::fs::create_dir_all(&empty).unwrap();
    assert_eq!(sandbox.web(&domain, "/empty/").0, 403);
    assert_eq!(sandbox.web(&format!("www.{domain}"), "/empty/").0, 403);
    let count = |level: &str| tally(&stats(&me, &domain), "errors", level, "lines");
    wait_for("the errors in the stats", Duration::from_secs(20), || count("error") == 2);

    // Hostile and foreign lines: rejected or unhosted, never counted here and
    // never a file of their own; a well-formed line still counts.
    let log = sandbox.layout_path("var/log/nginx/error.log");
    let day = jiff::Zoned::now().strftime("%Y/%m/%d %H:%M:%S").to_string();
    let request = "client: 127.0.0.1, server: _, request: \"GET / HTTP/1.1\"";
    append(
        &log,
        &format!(
            "{day} [error] 1#1: *1 x, {request}, host: \"{{\\\"a\\\":1}}.test\"\n\
             {day} [error] 1#1: *2 \u{1b}[31m, {request}, host: \"{domain}\"\n\
             {day} [error] 1#1: *3 x, {request}, host: \"not-hosted.test\"\n\
             {day} [shout] 1#1: *4 x, {request}, host: \"{domain}\"\n\
             {day} [crit] 1#1: *5 upstream failed, {request}, host: \"{domain}\"\n"
        ),
    );
    wait_for("the crit line in the stats", Duration::from_secs(20), || count("crit") == 1);
    assert_eq!(count("error"), 2);
    let errors = sandbox.layout_path("usr/local/hspanel/logs/errors");
    let dirs: Vec<String> = std::fs::read_dir(&errors)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs, std::slice::from_ref(&domain), "a file for a name that is not hosted");
}
