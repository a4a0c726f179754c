//! Sessions, tokens and throttles, over the real daemon.

use hs_testkit::{Client, Sandbox, unique};
use serde_json::json;

#[test]
fn tokens_cookies_logout_and_password_change() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("tok");
    let password = sandbox.create_account(&admin, &user, &format!("{user}.test"));

    // Login sets an HttpOnly, SameSite=Strict cookie and every reply has an op id.
    let out = std::process::Command::new("curl")
        .args(["-s", "-i", "-X", "POST", &format!("{}/api/auth/login", sandbox.info.user_url)])
        .args(["-d", &json!({ "username": user, "password": password }).to_string()])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(head.contains("set-cookie: hs_session="), "{head}");
    assert!(head.contains("httponly") && head.contains("samesite=strict"));
    assert!(head.contains("x-operation-id: op-"));

    let me = sandbox.user(&user, &password);
    let reply = me.get("auth/whoami", "");
    assert_eq!(reply.body["username"], user.as_str());
    assert!(reply.op_id.unwrap().starts_with("op-"));

    // A tampered token and no token are refused.
    let mut forged = me.token.clone().unwrap();
    forged.push('x');
    assert_eq!(me.with_token(&forged).get("auth/whoami", "").status, 401);
    assert_eq!(Client::new(&sandbox.info.user_url).get("auth/whoami", "").status, 401);

    // Logout revokes exactly that session.
    let other = sandbox.user(&user, &password);
    assert_eq!(me.call("auth/logout", json!({})).status, 200);
    assert_eq!(me.get("auth/whoami", "").status, 401);
    assert_eq!(other.get("auth/whoami", "").status, 200);

    // An API token works, honours its allow-list, and dies with revocation.
    let made = other.call("auth/token_create", json!({ "name": "billing" }));
    assert_eq!(made.status, 200, "{}", made.body);
    let api = other.with_token(made.body["token"].as_str().unwrap());
    assert_eq!(api.get("domain/list", "").status, 200);
    let fenced =
        other.call("auth/token_create", json!({ "name": "fenced", "allowed_ips": ["192.0.2.1"] }));
    let fenced = other.with_token(fenced.body["token"].as_str().unwrap());
    assert_eq!(fenced.get("domain/list", "").status, 401);
    assert_eq!(other.call("auth/token_revoke", json!({ "name": "billing" })).status, 200);
    assert_eq!(api.get("domain/list", "").status, 401);

    // A password change ends every session.
    let reply = other.call(
        "auth/change_password",
        json!({ "current_password": password, "new_password": "Brand-New-Pass-42" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(other.get("auth/whoami", "").status, 401);
    sandbox.user(&user, "Brand-New-Pass-42");
}

#[test]
fn repeated_failed_logins_lock_the_user_out() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("lock");
    let password = sandbox.create_account(&admin, &user, &format!("{user}.test"));
    let mut client = Client::new(&sandbox.info.user_url);

    for _ in 0..5 {
        let reply =
            client.call("auth/login", json!({ "username": user, "password": "Wrong-Pass-1" }));
        assert_eq!(reply.status, 401);
    }
    // Locked now, even with the right password.
    let reply = client.call("auth/login", json!({ "username": user, "password": password }));
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(reply.code(), "locked_out");
    client.token = None;
}

#[test]
fn the_openapi_document_lists_each_ports_actions() {
    let sandbox = Sandbox::start();
    let (status, text) = Client::new(&sandbox.info.admin_url).get_raw("/api/openapi.json");
    assert_eq!(status, 200);
    let admin: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(admin["paths"]["/api/account/create"]["post"].is_object());

    let (_, text) = Client::new(&sandbox.info.user_url).get_raw("/api/openapi.json");
    let user: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(user["paths"]["/api/account/create"].is_null());
    assert!(user["paths"]["/api/domain/add"]["post"].is_object());
}

#[test]
fn staff_log_in_as_their_own_accounts_with_a_one_time_ticket() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("asalice");
    sandbox.create_account(&admin, &alice, &format!("{alice}.test"));

    // A reseller with one customer of its own.
    let seller = unique("asseller");
    let seller_password = "Reseller-Pass-2026!";
    let made = admin.call(
        "account/create",
        json!({ "username": seller, "domain": format!("{seller}.test"),
                "password": seller_password, "reseller": true, "max_accounts": 1 }),
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let mut reseller = Client::new(&sandbox.info.admin_url);
    reseller.login(&seller, seller_password);
    let carol = unique("ascarol");
    let made = reseller.call(
        "account/create",
        json!({ "username": carol, "domain": format!("{carol}.test"), "password": "Carol-Pass-2026!" }),
    );
    assert_eq!(made.status, 200, "{}", made.body);

    // The admin's ticket opens alice's portal once, as alice.
    let reply = admin.call("auth/login_as", json!({ "username": alice }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ticket = reply.body["ticket"].as_str().unwrap().to_owned();
    let user_port = sandbox.info.user_url.rsplit(':').next().unwrap();
    assert_eq!(reply.body["user_port"].to_string(), user_port);
    let portal = Client::new(&sandbox.info.user_url);
    let session = portal.call("auth/handoff", json!({ "ticket": ticket }));
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.body["issued_by"], sandbox.info.admin_user.as_str());
    let as_alice = portal.with_token(session.body["token"].as_str().unwrap());
    let me = as_alice.get("auth/whoami", "");
    assert_eq!(
        (me.body["username"].as_str(), me.body["role"].as_str()),
        (Some(&*alice), Some("user"))
    );
    let again = portal.call("auth/handoff", json!({ "ticket": ticket }));
    assert_eq!(again.status, 401, "a ticket works once: {}", again.body);

    // A reseller reaches its own customer only, and only the admin port mints tickets.
    assert_eq!(reseller.call("auth/login_as", json!({ "username": carol })).status, 200);
    let foreign = reseller.call("auth/login_as", json!({ "username": alice }));
    assert!(matches!(foreign.status, 403 | 404), "{}", foreign.body);
    assert!(foreign.body["error"]["message"].as_str().is_some());
    let from_user_port = as_alice.call("auth/login_as", json!({ "username": alice }));
    assert_eq!(from_user_port.status, 404, "{}", from_user_port.body);
    let bogus = portal.call("auth/handoff", json!({ "ticket": "0".repeat(64) }));
    assert_eq!(bogus.status, 401);

    // A suspended account gets no ticket; the reseller's cap is the admin's to set.
    assert_eq!(admin.call("account/suspend", json!({ "username": alice })).status, 200);
    assert_eq!(admin.call("auth/login_as", json!({ "username": alice })).status, 409);
    let cap = reseller
        .call("account/set_reseller_limit", json!({ "username": seller, "max_accounts": 5 }));
    assert_eq!(cap.status, 403, "{}", cap.body);
    let cap =
        admin.call("account/set_reseller_limit", json!({ "username": seller, "max_accounts": 2 }));
    assert_eq!(cap.status, 200, "{}", cap.body);
    assert_eq!(cap.body["max_accounts"], 2);
    let not_reseller = admin.call("account/set_reseller_limit", json!({ "username": alice }));
    assert_eq!(not_reseller.status, 409, "{}", not_reseller.body);
}
