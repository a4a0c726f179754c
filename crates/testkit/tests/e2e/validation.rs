//! Bad input gets a clear 4xx and changes no file anywhere in the sandbox.

use hs_testkit::{Sandbox, unique};
use serde_json::json;

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let owner = unique("own");
    let owned = format!("{owner}.test");
    sandbox.create_account(&admin, &owner, &owned);
    let before = sandbox.tree_digest();

    let long_domain = format!(
        "{}.test",
        ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(57)].join(".")
    );
    assert_eq!(long_domain.len(), 254);
    let fresh = unique("new");
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({ "username": "Root" }), "username"),
        (json!({ "username": "root" }), "username"),
        (json!({ "username": "../x" }), "username"),
        (json!({ "username": "a b" }), "username"),
        (json!({ "username": "abcdefghijklmnopq" }), "username"),
        (json!({ "username": "" }), "username"),
        (json!({ "domain": "test..com" }), "domain"),
        (json!({ "domain": "evil.com;" }), "domain"),
        (json!({ "domain": "evil.com\n}" }), "domain"),
        (json!({ "domain": "x.com { }" }), "domain"),
        (json!({ "domain": "-a.com" }), "domain"),
        (json!({ "domain": long_domain }), "domain"),
        (json!({ "domain": "localhost" }), "domain"),
        (json!({ "domain": owned }), "already hosted"),
        (json!({ "password": "short" }), "password"),
    ];
    for (patch, expect) in cases {
        let mut body = json!({ "username": fresh, "domain": format!("{fresh}.test"), "password": "Good-Pass-123" });
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = admin.call("account/create", body.clone());
        assert!((400..500).contains(&reply.status), "{body}: {} {}", reply.status, reply.body);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expect), "{body}: message {message:?} lacks {expect:?}");
        assert!(reply.body["error"]["operation_id"].as_str().unwrap_or("").starts_with("op-"));
    }

    // Malformed requests: not JSON, a missing field, an unknown field, 10 MB.
    let reply = admin.post_raw("account/create", "application/json", b"{not json".to_vec());
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply =
        admin.call("account/create", json!({ "username": fresh, "password": "Good-Pass-123" }));
    assert_eq!(reply.status, 400);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("domain"));
    let reply = admin.call("account/create", json!({ "username": fresh, "domain": "a.test", "password": "Good-Pass-123", "shell": "/bin/bash" }));
    assert_eq!(reply.status, 400);
    let huge = sandbox.root.join("huge.json");
    std::fs::write(&huge, vec![b' '; 10 * 1024 * 1024]).unwrap();
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", &format!("Authorization: Bearer {}", admin.token.as_ref().unwrap())])
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(format!("@{}", huge.display()))
        .arg(format!("{}/api/account/create", sandbox.info.admin_url))
        .output()
        .unwrap();
    std::fs::remove_file(&huge).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413");

    // Domain actions refuse the same names.
    for bad in ["test..com", "evil.com;", "x.com { }", "-a.com", "localhost"] {
        let reply = admin.call("domain/add", json!({ "username": owner, "domain": bad }));
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    let reply = admin.call(
        "domain/redirect",
        json!({ "username": owner, "domain": owned, "url": "http://x.test/$host" }),
    );
    assert_eq!(reply.status, 400);

    assert_eq!(before, sandbox.tree_digest(), "a refused request changed files");
    assert!(nix::unistd::User::from_name(&fresh).unwrap().is_none());
}
