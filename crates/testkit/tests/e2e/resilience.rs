//! Failure never leaves a half-made account or a broken site: a config nginx
//! rejects never goes live, a crash mid-creation is undone at restart, and
//! concurrent creations lose nothing and share reloads.

use std::time::{Duration, Instant};

use hs_testkit::{Sandbox, unique};
use serde_json::json;

#[test]
fn a_config_nginx_rejects_never_goes_live() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("tpl");
    let domain = format!("{user}.test");
    sandbox.create_account(&admin, &user, &domain);
    assert_eq!(sandbox.web(&domain, "/").0, 200);

    // An administrator's template override that renders something nginx refuses.
    let template = sandbox.root.join("usr/local/hspanel/templates/nginx/site.map.j2");
    std::fs::create_dir_all(template.parent().unwrap()).unwrap();
    std::fs::write(&template, "{% for host in hosts %}{{ host }} \"site|x|/\" }}}\n{% endfor %}")
        .unwrap();

    let addon = format!("broken-{user}.test");
    let reply = admin.call("domain/add", json!({ "username": user, "domain": addon }));
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.code(), "service_failed");

    // Nothing of the failed change is left, and the old site still answers.
    assert!(!sandbox.root.join(format!("etc/nginx/hspanel/sites/{addon}.map")).exists());
    assert!(!sandbox.root.join(format!("var/hspanel/domains/{addon}")).exists());
    assert_eq!(sandbox.web(&domain, "/").0, 200);
    assert_eq!(sandbox.web(&addon, "/").0, 404);

    std::fs::remove_file(&template).unwrap();
    let reply = admin.call("domain/add", json!({ "username": user, "domain": addon }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(sandbox.web(&addon, "/").0, 200);
}

/// Everything an account leaves on the machine, present or absent.
fn footprint(sandbox: &Sandbox, user: &str, domain: &str) -> Vec<(String, bool)> {
    let mut parts =
        vec![("linux user".to_string(), nix::unistd::User::from_name(user).unwrap().is_some())];
    for rel in [
        format!("home/{user}"),
        format!("var/hspanel/userdata/{user}/account.yaml"),
        format!("var/hspanel/domains/{domain}"),
        format!("etc/nginx/hspanel/sites/{domain}.map"),
    ] {
        let exists = sandbox.root.join(&rel).exists();
        parts.push((rel, exists));
    }
    let pools = sandbox.root.join("etc/php");
    let pool = walkdir(&pools).into_iter().any(|p| p.ends_with(format!("hs-{user}.conf")));
    parts.push(("php pool".to_string(), pool));
    parts
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walkdir(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_crash_inside_account_creation_leaves_all_or_nothing() {
    let mut sandbox = Sandbox::start();
    let points = [
        "account.create:after_linux_user",
        "account.create:after_state",
        "account.create:after_php_pool",
        "account.create:after_vhost",
    ];
    for point in points {
        let admin = sandbox.admin();
        let user = unique("crash");
        let domain = format!("{user}.test");
        let old_pid = sandbox.info.srvd_pid;
        std::fs::write(sandbox.root.join("var/hspanel/fault"), point).unwrap();

        let reply = admin.call(
            "account/create",
            json!({ "username": user, "domain": domain, "password": "Crash-Pass-123" }),
        );
        assert_eq!(reply.status, 0, "{point}: hs-srvd should have died, got {}", reply.body);

        // The supervisor restarts hs-srvd, which finishes or undoes the creation.
        let deadline = Instant::now() + Duration::from_secs(60);
        while sandbox.info.srvd_pid == old_pid {
            assert!(Instant::now() < deadline, "hs-srvd was not restarted");
            std::thread::sleep(Duration::from_millis(100));
            sandbox.reload_info();
        }
        sandbox.wait_srvd();

        let parts = footprint(&sandbox, &user, &domain);
        let present = parts.iter().filter(|(_, p)| *p).count();
        assert!(present == 0 || present == parts.len(), "{point}: half an account: {parts:?}");
        assert!(!sandbox.root.join("var/hspanel/journal").read_dir().unwrap().any(|_| true));

        // The name is usable again and the account works end to end.
        let admin = sandbox.admin();
        if present == 0 {
            sandbox.create_account(&admin, &user, &domain);
        }
        assert_eq!(sandbox.web(&domain, "/").0, 200, "{point}");
    }
}

#[test]
fn twenty_concurrent_creations_lose_nothing_and_share_reloads() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let reloads_before = sandbox.nginx_reloads();
    let users: Vec<String> = (0..20).map(|_| unique("c")).collect();

    std::thread::scope(|scope| {
        let handles: Vec<_> = users
            .iter()
            .map(|user| {
                let admin = &admin;
                scope.spawn(move || {
                    admin.call(
                        "account/create",
                        json!({ "username": user, "domain": format!("{user}.test"), "password": "Many-Pass-123" }),
                    )
                })
            })
            .collect();
        for handle in handles {
            let reply = handle.join().unwrap();
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    });

    for user in &users {
        assert_eq!(sandbox.web(&format!("{user}.test"), "/").0, 200, "{user}");
    }
    let listed = admin.get("account/list", "").body["accounts"].as_array().unwrap().len();
    assert_eq!(listed, 20);
    let reloads = sandbox.nginx_reloads() - reloads_before;
    assert!((1..=8).contains(&reloads), "{reloads} nginx reloads for 20 creations");
}
