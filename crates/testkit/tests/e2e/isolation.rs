//! Tenants are isolated: a user touches only its own account, a reseller only its
//! own customers', and the user port has no admin routes at all.

use hs_testkit::{Sandbox, unique};
use serde_json::json;

#[test]
fn a_user_cannot_reach_another_account_or_admin_routes() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("iso");
    let bob = unique("bob");
    let alice_password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &alice_password);

    // Every domain action naming bob is refused, and nothing of bob's changes.
    let before = sandbox.tree_digest();
    let bob_domain = format!("{bob}.test");
    let attempts = [
        ("domain/list", json!({ "username": bob })),
        ("domain/add", json!({ "username": bob, "domain": format!("x-{bob}.test") })),
        ("domain/delete", json!({ "username": bob, "domain": bob_domain })),
        (
            "domain/redirect",
            json!({ "username": bob, "domain": bob_domain, "url": "http://evil.test/" }),
        ),
        ("domain/park", json!({ "username": bob, "domain": "p.test", "target": bob_domain })),
        ("account/show", json!({ "username": bob })),
        // Her own account, but bob's domain as the target.
        ("domain/park", json!({ "domain": format!("p-{alice}.test"), "target": bob_domain })),
        ("domain/delete", json!({ "domain": bob_domain })),
        ("domain/redirect", json!({ "domain": bob_domain, "url": "http://evil.test/" })),
        ("domain/add_subdomain", json!({ "domain": bob_domain, "subdomain": "x" })),
        // Someone else's name, or a name below it.
        ("domain/add", json!({ "domain": bob_domain })),
        ("domain/add", json!({ "domain": format!("www2.{bob_domain}") })),
    ];
    for (action, body) in attempts {
        let reply = me.call(action, body.clone());
        assert!(
            [403, 404, 409].contains(&reply.status),
            "{action} {body} answered {}: {}",
            reply.status,
            reply.body
        );
    }

    // Admin routes do not exist on the user port.
    for action in
        ["account/create", "account/list", "account/suspend", "account/terminate", "plan/list"]
    {
        let reply = me.call(action, json!({ "username": bob }));
        assert_eq!(reply.status, 404, "{action} on the user port: {}", reply.body);
    }
    // A user token is refused on the admin port.
    let borrowed =
        hs_testkit::Client::new(&sandbox.info.admin_url).with_token(me.token.as_ref().unwrap());
    assert_eq!(borrowed.get("account/list", "").status, 401);
    // And an account holder cannot log in on the admin port at all.
    let mut client = hs_testkit::Client::new(&sandbox.info.admin_url);
    let reply = client.call("auth/login", json!({ "username": alice, "password": alice_password }));
    assert_eq!(reply.status, 401);
    client.token = None;

    assert_eq!(before, sandbox.tree_digest(), "a refused request changed files");
    assert_eq!(sandbox.web(&bob_domain, "/").0, 200);
}

#[test]
fn a_reseller_manages_only_its_own_accounts() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let reseller = unique("res");
    let password = "Reseller-Pass-1";
    let reply = admin.call(
        "account/create",
        json!({ "username": reseller, "domain": format!("{reseller}.test"), "password": password,
                "reseller": true, "max_accounts": 1 }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let theirs = unique("adm");
    sandbox.create_account(&admin, &theirs, &format!("{theirs}.test"));

    let mut res = hs_testkit::Client::new(&sandbox.info.admin_url);
    res.login(&reseller, password);
    let mine = unique("cus");
    let reply = res.call(
        "account/create",
        json!({ "username": mine, "domain": format!("{mine}.test"), "password": "Customer-Pass-2" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["owner"], reseller.as_str());

    // It sees only its customer.
    let list = res.get("account/list", "");
    let names: Vec<&str> = list.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![mine.as_str()]);

    // The admin's account is invisible to it, and its own limit holds.
    for (action, body) in [
        ("account/show", json!({ "username": theirs })),
        ("account/suspend", json!({ "username": theirs })),
        ("account/terminate", json!({ "username": theirs })),
        ("domain/add", json!({ "username": theirs, "domain": "z-res.test" })),
    ] {
        let reply = res.call(action, body);
        assert_eq!(reply.status, 404, "{action}: {}", reply.body);
    }
    let extra = unique("cus");
    let reply = res.call(
        "account/create",
        json!({ "username": extra, "domain": format!("{extra}.test"), "password": "Customer-Pass-2" }),
    );
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.code(), "limit_reached");
    // A reseller cannot make resellers.
    let reply = res.call(
        "account/create",
        json!({ "username": unique("r"), "domain": "rr.test", "password": "Customer-Pass-2", "reseller": true }),
    );
    assert_eq!(reply.status, 403);

    assert_eq!(res.call("account/suspend", json!({ "username": mine })).status, 200);
    assert_eq!(res.call("account/terminate", json!({ "username": mine })).status, 200);
}
