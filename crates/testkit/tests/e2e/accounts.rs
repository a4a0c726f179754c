//! Accounts and their websites, as a customer sees them through nginx.

use std::os::unix::fs::MetadataExt;

use hs_testkit::{Sandbox, unique};
use serde_json::json;

/// A PHP page that prints the uid it runs as, owned by the account.
fn put_whoami(sandbox: &Sandbox, user: &str, docroot: &str) {
    let dir = sandbox.root.join("home").join(user).join(docroot);
    let path = dir.join("whoami.php");
    std::fs::write(&path, "<?php echo 'uid=', posix_geteuid(), ' host=', $_SERVER['HTTP_HOST'];")
        .unwrap();
    let owner = std::fs::metadata(&dir).unwrap();
    std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
}

fn uid_of(user: &str) -> u32 {
    nix::unistd::User::from_name(user).unwrap().unwrap().uid.as_raw()
}

#[test]
fn a_new_account_serves_php_as_its_own_user() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("alice");
    let domain = format!("{alice}.test");
    sandbox.create_account(&admin, &alice, &domain);

    put_whoami(&sandbox, &alice, "public_html");
    let (status, _, body) = sandbox.web(&domain, "/whoami.php");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, format!("uid={} host={domain}", uid_of(&alice)));

    let (status, _, body) = sandbox.web(&format!("www.{domain}"), "/");
    assert_eq!(status, 200);
    assert!(body.contains("This site is ready"));

    let (status, _, _) = sandbox.web("nobody-hosts-this.test", "/");
    assert_eq!(status, 404);
}

#[test]
fn addon_subdomain_parked_and_redirect_behave() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("dom");
    let main = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &main);
    let me = sandbox.user(&user, &password);

    // Addon: a site of its own, in its own folder.
    let shop = format!("shop-{user}.test");
    let reply = me.call("domain/add", json!({ "domain": shop }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    put_whoami(&sandbox, &user, &shop);
    let (status, _, body) = sandbox.web(&shop, "/whoami.php");
    assert_eq!((status, body), (200, format!("uid={} host={shop}", uid_of(&user))));

    // Subdomain: blog.main, its own folder too.
    let reply = me.call("domain/add_subdomain", json!({ "domain": main, "subdomain": "blog" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let blog = format!("blog.{main}");
    std::fs::write(sandbox.root.join(format!("home/{user}/{blog}/index.html")), "the blog")
        .unwrap();
    assert_eq!(sandbox.web(&blog, "/").2, "the blog");

    // Parked: another name for the main site.
    let alias = format!("alias-{user}.test");
    let reply = me.call("domain/park", json!({ "domain": alias, "target": main }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    put_whoami(&sandbox, &user, "public_html");
    let (status, _, body) = sandbox.web(&alias, "/whoami.php");
    assert_eq!((status, body), (200, format!("uid={} host={alias}", uid_of(&user))));

    // Redirect: 302 to the URL, then back to serving.
    let reply = me.call(
        "domain/redirect",
        json!({ "domain": shop, "url": "https://example.org/new", "status": 302 }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (status, location, _) = sandbox.web(&shop, "/");
    assert_eq!((status, location.as_str()), (302, "https://example.org/new"));
    me.call("domain/remove_redirect", json!({ "domain": shop }));
    assert_eq!(sandbox.web(&shop, "/whoami.php").0, 200);

    // Listing shows all four, and deleting the addon stops serving it.
    let list = me.get("domain/list", "");
    assert_eq!(list.body["domains"].as_array().unwrap().len(), 4, "{}", list.body);
    assert_eq!(me.call("domain/delete", json!({ "domain": shop })).status, 200);
    assert_eq!(sandbox.web(&shop, "/").0, 404);
    assert!(!sandbox.root.join(format!("etc/nginx/hspanel/sites/{shop}.map")).exists());
}

#[test]
fn suspend_unsuspend_and_terminate() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("sus");
    let bob = unique("keep");
    let alice_domain = format!("{alice}.test");
    let bob_domain = format!("{bob}.test");
    let alice_password = sandbox.create_account(&admin, &alice, &alice_domain);
    sandbox.create_account(&admin, &bob, &bob_domain);
    let me = sandbox.user(&alice, &alice_password);

    let reply = admin.call("account/suspend", json!({ "username": alice, "reason": "unpaid" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (status, _, body) = sandbox.web(&alice_domain, "/");
    assert_eq!(status, 503);
    assert!(body.contains("suspended"), "{body}");
    // Her session ended and she cannot log in again.
    assert_eq!(me.get("account/show", "").status, 401);
    let mut again = hs_testkit::Client::new(&sandbox.info.user_url);
    let login = again.call("auth/login", json!({ "username": alice, "password": alice_password }));
    assert_eq!(login.status, 403, "{}", login.body);
    again.token = None;

    assert_eq!(admin.call("account/unsuspend", json!({ "username": alice })).status, 200);
    assert_eq!(sandbox.web(&alice_domain, "/").0, 200);

    // Terminate alice: everything of hers goes, bob's stays exactly as it was.
    let bob_home = sandbox.root.join("home").join(&bob);
    let before: Vec<_> = sandbox
        .tree_digest()
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(bob.as_str()))
        .collect();
    let reply = admin.call("account/terminate", json!({ "username": alice }));
    assert_eq!(reply.status, 200, "{}", reply.body);

    assert!(nix::unistd::User::from_name(&alice).unwrap().is_none(), "Linux user left");
    for leftover in [
        format!("home/{alice}"),
        format!("var/hspanel/userdata/{alice}"),
        format!("var/hspanel/domains/{alice_domain}"),
        format!("etc/nginx/hspanel/sites/{alice_domain}.map"),
    ] {
        assert!(!sandbox.root.join(&leftover).exists(), "{leftover} left behind");
    }
    let pools = std::fs::read_dir(sandbox.root.join("etc/php")).unwrap().count();
    assert!(pools > 0);
    assert_eq!(sandbox.web(&alice_domain, "/").0, 404);

    let after: Vec<_> = sandbox
        .tree_digest()
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(bob.as_str()))
        .collect();
    assert_eq!(before, after, "bob's files changed");
    assert!(bob_home.exists());
    assert_eq!(sandbox.web(&bob_domain, "/").0, 200);
}

#[test]
fn the_cli_manages_accounts_with_json_and_exit_codes() {
    let sandbox = Sandbox::start();
    let user = unique("cli");
    let domain = format!("{user}.test");

    let out = sandbox.cli(
        &[
            "--json",
            "account",
            "create",
            "--username",
            &user,
            "--domain",
            &domain,
            "--password-stdin",
        ],
        Some("Cli-Pass-word-7\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["username"], user.as_str());
    assert_eq!(sandbox.web(&domain, "/").0, 200);

    let out = sandbox.cli(
        &["account", "create", "--username", "Root", "--domain", "x.test", "--password-stdin"],
        Some("Cli-Pass-word-7\n"),
    );
    assert_eq!(out.status.code(), Some(2), "a refused input exits with 2");

    let out = sandbox.cli(&["account", "terminate", &user], None);
    assert!(out.status.success());
    assert_eq!(sandbox.web(&domain, "/").0, 404);
}

#[test]
fn plan_limits_hold_and_a_second_start_keeps_everything() {
    let mut sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let reply = admin.call(
        "plan/save",
        json!({ "name": "tiny", "limits": { "addon_domains": 0, "subdomains": 1 } }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user = unique("plan");
    let domain = format!("{user}.test");
    let reply = admin.call(
        "account/create",
        json!({ "username": user, "domain": domain, "password": "Plan-Pass-123", "plan": "tiny" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let me = sandbox.user(&user, "Plan-Pass-123");
    let reply = me.call("domain/add", json!({ "domain": format!("more-{user}.test") }));
    assert_eq!((reply.status, reply.code()), (403, "limit_reached"), "{}", reply.body);
    let sub = |label: &str| {
        me.call("domain/add_subdomain", json!({ "domain": domain, "subdomain": label }))
    };
    assert_eq!(sub("one").status, 200);
    assert_eq!(sub("two").status, 403);

    // A plan the account's usage does not fit is refused; a bigger one is fine.
    assert_eq!(
        admin.call("plan/save", json!({ "name": "none", "limits": { "subdomains": 0 } })).status,
        200
    );
    let reply = admin.call("account/change_plan", json!({ "username": user, "plan": "none" }));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(
        admin.call("account/change_plan", json!({ "username": user, "plan": "default" })).status,
        200
    );
    assert_eq!(me.call("domain/add", json!({ "domain": format!("more-{user}.test") })).status, 200);

    // Stop and start the sandbox: same admin password, same accounts, sites up.
    let password = sandbox.info.admin_password.clone();
    sandbox.restart_with_config(|_| {});
    assert_eq!(sandbox.info.admin_password, password);
    assert_eq!(sandbox.web(&domain, "/").0, 200);
    assert_eq!(sandbox.web(&format!("one.{domain}"), "/").0, 200);
    let listed = sandbox.admin().get("account/list", "");
    assert_eq!(listed.body["accounts"].as_array().unwrap().len(), 1);
}
