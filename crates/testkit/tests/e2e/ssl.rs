//! HS::SSL end to end: what the sandbox's nginx serves on its HTTPS port, read
//! with `curl --resolve` and `openssl s_client`, and verified against the root of
//! the sandbox's private pebble.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hs_testkit::{Sandbox, unique};
use serde_json::{Value, json};

/// `GET https://host/` through the HTTPS port, verified against `ca` (None: not
/// verified). The HTTP status, or None when the TLS handshake or check failed.
fn https(sandbox: &Sandbox, host: &str, ca: Option<&str>) -> Option<u16> {
    let port = sandbox.info.https_port;
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["--resolve", &format!("{host}:{port}:127.0.0.1")]);
    match ca {
        Some(ca) => cmd.args(["--cacert", ca]),
        None => cmd.arg("-k"),
    };
    let out = cmd.arg(format!("https://{host}:{port}/")).output().unwrap();
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The serial and issuer of the certificate nginx serves for `host` (by SNI).
pub(crate) fn served(sandbox: &Sandbox, host: &str) -> (String, String) {
    served_on(sandbox.info.https_port, host)
}

/// The serial and issuer of the certificate a TLS port serves for `host`.
fn served_on(port: u16, host: &str) -> (String, String) {
    let connect = format!("127.0.0.1:{port}");
    let hello = Command::new("openssl")
        .args(["s_client", "-connect", &connect, "-servername", host])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-issuer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    x509.stdin.take().unwrap().write_all(&hello.stdout).unwrap();
    let out = x509.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_default().trim().to_string()
    };
    (field("serial=").to_lowercase(), field("issuer="))
}

fn cert_of<'a>(list: &'a Value, domain: &str) -> &'a Value {
    let all = list["certificates"].as_array().unwrap();
    all.iter().find(|c| c["domain"] == domain).unwrap_or_else(|| panic!("{domain}: {list}"))
}

#[test]
fn a_new_site_answers_https_at_once_then_serves_what_pebble_issued() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("ssla");
    let domain = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &domain);
    let ca = sandbox.info.acme_ca_file.clone();

    // Right after creation: a self-signed certificate, by SNI, for www too.
    assert!(https(&sandbox, &domain, None).is_some(), "no HTTPS for a new site");
    let (_, issuer) = served(&sandbox, &domain);
    assert!(issuer.contains("HS-Panel self-signed"), "{issuer}");
    assert!(https(&sandbox, &domain, Some(&ca)).is_none(), "pebble's root verified a self-signed");
    let (_, www_issuer) = served(&sandbox, &format!("www.{domain}"));
    assert!(www_issuer.contains(&domain), "{www_issuer}");

    // A key file nginx loads is readable by root and the web server's group only.
    let ssl_dir = sandbox.layout_path("etc/nginx/hspanel/ssl");
    for entry in std::fs::read_dir(&ssl_dir).unwrap().flatten() {
        use std::os::unix::fs::MetadataExt;
        let mode = entry.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640, "{}", entry.path().display());
    }

    // AutoSSL, asked by the account holder: http-01 through nginx.
    let user = sandbox.user(&alice, &password);
    let reply = user.call("ssl/autossl", json!({ "domain": domain }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(https(&sandbox, &domain, Some(&ca)).is_some(), "pebble's cert did not verify");
    assert!(https(&sandbox, &format!("www.{domain}"), Some(&ca)).is_some());
    let (serial, issuer) = served(&sandbox, &domain);
    assert!(issuer.contains("Pebble"), "{issuer}");

    let list = user.get("ssl/list", "").body;
    let cert = cert_of(&list, &domain);
    assert_eq!(cert["source"], "acme");
    assert_eq!(cert["serial"].as_str().unwrap().to_lowercase(), serial);
    assert!(cert["issuer"].as_str().unwrap().contains("Pebble"));
    assert!(cert["not_after"].as_str().unwrap().len() >= 20, "{cert}");

    // No challenge file is left behind.
    let challenges = sandbox.layout_path("usr/local/hspanel/share/acme/.well-known/acme-challenge");
    assert_eq!(std::fs::read_dir(challenges).unwrap().count(), 0);

    // delete: back to a self-signed certificate, HTTPS still answering.
    let reply = user.call("ssl/delete", json!({ "domain": domain }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (_, issuer) = served(&sandbox, &domain);
    assert!(issuer.contains("HS-Panel self-signed"), "{issuer}");
    assert_eq!(cert_of(&user.get("ssl/list", "").body, &domain)["source"], "self_signed");

    // An addon domain gets its own certificate at once too.
    let addon = format!("{}.test", unique("sslad"));
    let reply = admin.call("domain/add", json!({ "username": alice, "domain": addon }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (_, issuer) = served(&sandbox, &addon);
    assert!(issuer.contains(&addon), "{issuer}");
}

#[test]
fn a_wildcard_is_issued_through_dns01_in_our_own_named() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("sslw");
    let domain = format!("{alice}.test");
    sandbox.create_account(&admin, &alice, &domain);
    let ca = sandbox.info.acme_ca_file.clone();
    let wildcard = format!("*.{domain}");

    let reply = admin.call("ssl/autossl", json!({ "username": alice, "domain": wildcard }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["names"], json!([wildcard]));

    // Any name below the domain now verifies against pebble's root.
    assert!(https(&sandbox, &format!("blog.{domain}"), Some(&ca)).is_some());
    let (_, issuer) = served(&sandbox, &format!("shop.{domain}"));
    assert!(issuer.contains("Pebble"), "{issuer}");
    // The apex keeps its own (self-signed) certificate.
    let (_, issuer) = served(&sandbox, &domain);
    assert!(issuer.contains("HS-Panel self-signed"), "{issuer}");
    // The challenge record was published in our named and is gone again.
    assert!(sandbox.dig(&format!("_acme-challenge.{domain}"), "TXT").is_empty());

    let list = admin.get("ssl/list", &format!("username={alice}")).body;
    assert_eq!(cert_of(&list, &wildcard)["source"], "acme");
}

#[test]
fn a_forced_renewal_swaps_the_serial_under_load_and_a_refusing_ca_keeps_the_old_one() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("sslr");
    let domain = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &domain);
    let ca = sandbox.info.acme_ca_file.clone();
    let user = sandbox.user(&alice, &password);
    let reply = user.call("ssl/autossl", json!({ "domain": domain }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (first, _) = served(&sandbox, &domain);

    // Requests in a loop while the renewal runs: every one verifies.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let looper = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let (port, ca, domain) = (sandbox.info.https_port, ca.clone(), domain.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let out = Command::new("curl")
                    .args(["-s", "-m", "10", "-o", "/dev/null", "--cacert", &ca])
                    .args(["--resolve", &format!("{domain}:{port}:127.0.0.1")])
                    .arg(format!("https://{domain}:{port}/"))
                    .status()
                    .unwrap();
                let counter = if out.success() { &ok } else { &failed };
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let reply = user.call("ssl/renew", json!({ "domain": domain }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    looper.join().unwrap();
    let (second, issuer) = served(&sandbox, &domain);
    assert_ne!(first, second, "the renewal did not swap the certificate");
    assert!(issuer.contains("Pebble"));
    assert_eq!(failed.load(Ordering::SeqCst), 0, "requests failed during the renewal");
    assert!(ok.load(Ordering::SeqCst) > 2, "too few requests ran");

    // The scheduled renewal: nothing is due within 30 days (pebble issues for
    // five years); within 3000 days this one is, and it gets a new serial.
    let due = |days: &str| {
        let out = sandbox.cli(&["--json", "ssl", "renew-due", "--within-days", days], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let report = due("30");
    assert_eq!(report["renewed"], json!([]), "{report}");
    assert!(report["checked"].as_u64().unwrap() >= 1, "{report}");
    let report = due("3000");
    assert_eq!(report["renewed"], json!([domain]), "{report}");
    let (third, _) = served(&sandbox, &domain);
    assert_ne!(third, second, "renew-due did not swap the certificate");
    let second = third;

    // The CA goes away: the renewal fails, says why, and the old certificate stays.
    let pebble = nix::unistd::Pid::from_raw(sandbox.info.pebble_pid as i32);
    nix::sys::signal::kill(pebble, nix::sys::signal::Signal::SIGKILL).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let reply = user.call("ssl/renew", json!({ "domain": domain }));
    assert!(reply.status >= 500, "{} {}", reply.status, reply.body);
    assert!(reply.body.to_string().contains("not issued"), "{}", reply.body);
    assert_eq!(served(&sandbox, &domain).0, second, "a failed renewal replaced the cert");
    assert!(https(&sandbox, &domain, Some(&ca)).is_some());
    let report = due("3000");
    assert_eq!(report["failed"][0][0], json!(domain), "{report}");
    assert_eq!(served(&sandbox, &domain).0, second, "a failed renew-due replaced the cert");

    // The failure is visible to the user and to the admin.
    for list in
        [user.get("ssl/list", "").body, admin.get("ssl/list", &format!("username={alice}")).body]
    {
        let cert = cert_of(&list, &domain);
        let message = cert["last_error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("does not answer"), "{cert}");
        assert_eq!(cert["serial"].as_str().unwrap().to_lowercase(), second);
    }
}

/// A key and a certificate for `names`, self-signed, valid in the given years.
fn pem_pair(names: &[&str], from: i32, until: i32) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(until, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn install_refuses_bad_certificates_and_tenants_are_isolated() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("ssli");
    let bob = unique("sslb");
    let domain = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &domain);
    let bob_password = sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let user = sandbox.user(&alice, &password);
    let bob_client = sandbox.user(&bob, &bob_password);

    let (cert, key) = pem_pair(&[&domain, &format!("www.{domain}")], 2025, 2030);
    let (_, other_key) = pem_pair(&[&domain], 2025, 2030);
    let (old, old_key) = pem_pair(&[&domain], 2020, 2022);
    let (foreign, foreign_key) = pem_pair(&["elsewhere.test"], 2025, 2030);

    let before = sandbox.tree_digest();
    let cases = [
        (&cert, &other_key, "does not match"),
        (&old, &old_key, "expired"),
        (&foreign, &foreign_key, "not "),
        (&cert, &"junk".to_string(), "private key"),
    ];
    for (cert, key, why) in cases {
        let body = json!({ "domain": domain, "cert": cert, "key": key });
        let reply = user.call("ssl/install", body);
        assert_eq!(reply.status, 400, "{why}: {}", reply.body);
        assert!(reply.body.to_string().contains(why), "{why}: {}", reply.body);
        assert_eq!(sandbox.tree_digest(), before, "a refused install changed files ({why})");
    }

    // Bob cannot see or touch Alice's certificates.
    let body = json!({ "domain": domain, "cert": cert, "key": key });
    assert_eq!(bob_client.call("ssl/install", body).status, 404);
    assert_eq!(bob_client.call("ssl/autossl", json!({ "domain": domain })).status, 404);
    assert_eq!(bob_client.call("ssl/delete", json!({ "domain": domain })).status, 404);
    let theirs = bob_client.get("ssl/list", "").body;
    assert!(!theirs.to_string().contains(&domain), "{theirs}");
    let reply = bob_client.call("ssl/list", json!({ "username": alice }));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(sandbox.tree_digest(), before, "another tenant changed files");

    // A good certificate is installed and served.
    let reply = user.call("ssl/install", json!({ "domain": domain, "cert": cert, "key": key }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["source"], "installed");
    let (serial, _) = served(&sandbox, &domain);
    assert_eq!(reply.body["serial"].as_str().unwrap().to_lowercase(), serial);
}

#[test]
fn a_user_orders_and_installs_certificates_on_the_ssl_page() {
    use hs_testkit::browser::{Browser, screenshot_dir};
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("sslu");
    let domain = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &domain);

    let browser = Browser::start();
    browser.log_in(&sandbox.info.user_url, &alice, &password);

    // The page lists the self-signed certificate; AutoSSL replaces it.
    browser.click("nav a[data-page=ssl]");
    let row = format!("tr[data-key=\"{domain}\"]");
    browser.find(&row);
    assert!(browser.text(&row).contains("Self-signed"), "{}", browser.text(&row));
    browser.click(&format!("button[data-action=autossl][data-domain=\"{domain}\"]"));
    // The order runs in hs-taskd; the page follows it live, then shows the outcome.
    browser.find(".notice.job progress");
    browser.find(".notice.job[data-state=succeeded]");
    let pebble = format!(
        "document.querySelector('{}') && document.querySelector('{}').textContent.includes('Pebble')",
        row.replace('\'', "\\'"),
        row.replace('\'', "\\'")
    );
    browser.wait_until(&pebble, "the row shows pebble's certificate");
    assert!(https(&sandbox, &domain, Some(&sandbox.info.acme_ca_file)).is_some());
    browser.screenshot(&screenshot_dir().join("user-ssl.png"));

    // A key that does not match is refused, and the page says why.
    let (cert, _) = pem_pair(&[&domain], 2025, 2030);
    let (_, other_key) = pem_pair(&[&domain], 2025, 2030);
    let form = "form[data-form=install-cert]";
    browser.type_into(&format!("{form} input[name=domain]"), &domain);
    browser.type_into(&format!("{form} textarea[name=cert]"), &cert);
    browser.type_into(&format!("{form} textarea[name=key]"), &other_key);
    browser.click(&format!("{form} button[type=submit]"));
    let error = browser.text(&format!("{form} .notice.error"));
    assert!(error.contains("does not match"), "{error}");
}

#[test]
fn autossl_and_the_renewal_of_what_is_due_run_as_hs_taskd_jobs() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("sslj");
    let domain = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &domain);
    let user = sandbox.user(&alice, &password);
    let ca = sandbox.info.acme_ca_file.clone();

    // hs-taskd keeps the daily renewal on its schedule list from the start.
    let schedule = sandbox.layout_path("var/hspanel/queue/schedules/ssl-renew.json");
    let text = std::fs::read_to_string(&schedule).expect("no ssl-renew schedule");
    assert!(text.contains("ssl_renew_due"), "{text}");

    let reply = user.call("ssl/autossl", json!({ "domain": domain, "background": true }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["kind"], "autossl");
    let done = user.wait_job(reply.body["id"].as_str().unwrap());
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(https(&sandbox, &domain, Some(&ca)).is_some(), "pebble's cert did not verify");
    let (serial, issuer) = served(&sandbox, &domain);
    assert!(issuer.contains("Pebble"), "{issuer}");

    // Once the domain has mail, IMAPS, POP3S and SMTPS serve its certificate
    // by SNI; another name gets the server's own.
    let mailbox = json!({ "domain": domain, "user": "info", "password": "Mail-Pass-2026!",
                          "quota": "10M" });
    let r = user.call("mail/create_account", mailbox);
    assert_eq!(r.status, 200, "{}", r.body);
    let mail_ports = [sandbox.info.imaps_port, sandbox.info.pop3s_port, sandbox.info.smtps_port];
    for port in mail_ports {
        assert_eq!(served_on(port, &domain), (serial.clone(), issuer.clone()), "port {port}");
        let other = served_on(port, "elsewhere.test");
        assert!(!other.1.contains("Pebble"), "port {port}: {other:?}");
    }

    // Nothing of a 90-day certificate is due within 30 days; within 365 it is.
    let renew = |days: u32| {
        let body = json!({ "kind": "ssl_renew_due", "within_days": days });
        let job = admin.call("task/submit", body);
        assert_eq!(job.status, 200, "{}", job.body);
        let done = admin.wait_job(job.body["id"].as_str().unwrap());
        assert_eq!(done["state"], "succeeded", "{done}");
        done["output"]["renewed"].as_array().unwrap().clone()
    };
    assert!(!renew(30).iter().any(|n| n == domain.as_str()));
    assert_eq!(served(&sandbox, &domain).0, serial);
    assert!(renew(365).iter().any(|n| n == domain.as_str()));
    let (renewed, issuer) = served(&sandbox, &domain);
    assert_ne!(renewed, serial);
    assert!(issuer.contains("Pebble"), "{issuer}");
    for port in mail_ports {
        assert_eq!(served_on(port, &domain).0, renewed, "port {port} kept the old one");
    }

    // The user may not queue server-wide work.
    let r = user.call("task/submit", json!({ "kind": "ssl_renew_due" }));
    assert_eq!(r.status, 403, "{}", r.body);
}
