//! HS::Database against the sandbox's real MariaDB: what the account holder
//! creates is proved with the real `mariadb` client logging in over TCP.

use hs_testkit::{Sandbox, unique};
use serde_json::json;

/// A password with every character that breaks naive SQL quoting, non-ASCII, and
/// an injection attempt: it must simply work as a password.
const HOSTILE_PASSWORD: &str = "Ab1'\"`\\%_é€; DROP DATABASE x; --";

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "mariadb failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "mariadb succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every database and database user in MariaDB, to prove that nothing changed.
fn mariadb_state(sandbox: &Sandbox) -> String {
    sandbox.mysql_root(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1; \
         SELECT User, Host FROM mysql.global_priv ORDER BY 1, 2; \
         SELECT Db, User, Host FROM mysql.db ORDER BY 1, 2, 3",
    )
}

#[test]
fn a_user_creates_a_database_and_a_user_who_logs_in() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("alice");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let me = sandbox.user(&alice, &password);
    let (db, app) = (format!("{alice}_shop"), format!("{alice}_app"));

    let reply = me.call("database/create_db", json!({ "name": db }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply =
        me.call("database/create_user", json!({ "name": app, "password": HOSTILE_PASSWORD }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = me.call("database/grant", json!({ "user": app, "db": db, "privileges": ["ALL"] }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["grants"][0]["privileges"], json!(["ALL"]));

    // The hostile password logs in; the client creates a table, writes and reads.
    let sql = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); \
               INSERT INTO t VALUES (1, 'hello'); SELECT v FROM t WHERE id = 1";
    assert_eq!(ok(&sandbox.mysql_as(&app, HOSTILE_PASSWORD, &db, sql)), "hello\n");
    // The "injection" in the password did nothing: the database is still there.
    assert_eq!(ok(&sandbox.mysql_as(&app, HOSTILE_PASSWORD, &db, "SELECT COUNT(*) FROM t")), "1\n");
    refused(&sandbox.mysql_as(&app, "Ab1'\"`\\%_e", &db, "SELECT 1"));

    // The list shows the database with its size and the user with its grant.
    let list = me.get("database/list", "");
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["databases"][0]["name"], db.as_str());
    assert!(list.body["databases"][0]["size_bytes"].as_u64().unwrap() > 0, "{}", list.body);
    assert_eq!(list.body["users"][0]["name"], app.as_str());
    assert_eq!(list.body["users"][0]["grants"][0]["db"], db.as_str());

    // SELECT only: the client can read and cannot write.
    let reply = me.call("database/revoke", json!({ "user": app, "db": db, "privileges": ["ALL"] }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply =
        me.call("database/grant", json!({ "user": app, "db": db, "privileges": ["select"] }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["grants"][0]["privileges"], json!(["SELECT"]));
    assert_eq!(ok(&sandbox.mysql_as(&app, HOSTILE_PASSWORD, &db, "SELECT v FROM t")), "hello\n");
    let err =
        refused(&sandbox.mysql_as(&app, HOSTILE_PASSWORD, &db, "INSERT INTO t VALUES (2, 'x')"));
    assert!(err.contains("INSERT command denied"), "{err}");

    // A new password replaces the old one.
    let reply =
        me.call("database/change_password", json!({ "name": app, "password": "Other-Pass-2026" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    refused(&sandbox.mysql_as(&app, HOSTILE_PASSWORD, &db, "SELECT 1"));
    assert_eq!(ok(&sandbox.mysql_as(&app, "Other-Pass-2026", &db, "SELECT v FROM t")), "hello\n");

    // The CLI sees the same, and deleting removes user and database.
    let out = sandbox.cli(&["--json", "database", "list", &alice], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&app));
    assert_eq!(me.call("database/delete_user", json!({ "name": app })).status, 200);
    refused(&sandbox.mysql_as(&app, "Other-Pass-2026", &db, "SELECT 1"));
    assert_eq!(me.call("database/delete_db", json!({ "name": db })).status, 200);
    assert_eq!(sandbox.mysql_root(&format!("SHOW DATABASES LIKE '{db}'")), "");
}

#[test]
fn hostile_names_are_refused_and_nothing_changes() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("alice");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let me = sandbox.user(&alice, &password);
    let app = format!("{alice}_app");
    assert_eq!(
        me.call("database/create_db", json!({ "name": format!("{alice}_shop") })).status,
        200
    );
    let reply =
        me.call("database/create_user", json!({ "name": app, "password": "Good-Pass-2026" }));
    assert_eq!(reply.status, 200, "{}", reply.body);

    let files = sandbox.tree_digest();
    let mariadb = mariadb_state(&sandbox);
    let shop = format!("{alice}_shop");
    let cases = [
        ("database/create_db", json!({ "name": format!("{alice}_sh`op") }), "backtick"),
        (
            "database/create_db",
            json!({ "name": format!("{alice}_x`; DROP DATABASE mysql; --") }),
            "backtick",
        ),
        (
            "database/create_db",
            json!({ "name": format!("{alice}_shop; DROP DATABASE mysql") }),
            "';'",
        ),
        ("database/create_db", json!({ "name": format!("{alice}_sh'op") }), "single quote"),
        ("database/create_db", json!({ "name": format!("{alice}_sh\\op") }), "backslash"),
        ("database/create_db", json!({ "name": format!("{alice}_sh%") }), "'%'"),
        ("database/create_db", json!({ "name": format!("{alice}_shöp") }), "U+00F6"),
        ("database/create_db", json!({ "name": "shop" }), "account name"),
        (
            "database/create_db",
            json!({ "name": format!("{alice}_{}", "x".repeat(60)) }),
            "at most 64",
        ),
        ("database/create_db", json!({ "name": "bob_shop" }), "must start with"),
        ("database/create_db", json!({ "name": shop }), "exists"),
        (
            "database/create_user",
            json!({ "name": format!("{alice}_a'@'%"), "password": "Good-Pass-2026" }),
            "single quote",
        ),
        (
            "database/create_user",
            json!({ "name": format!("{alice}_b"), "password": "short" }),
            "password",
        ),
        ("database/create_user", json!({ "name": app, "password": "Good-Pass-2026" }), "exists"),
        (
            "database/grant",
            json!({ "user": app, "db": shop, "privileges": ["SELECT; DROP"] }),
            "privilege",
        ),
        (
            "database/grant",
            json!({ "user": app, "db": shop, "privileges": ["GRANT OPTION"] }),
            "privilege",
        ),
        (
            "database/grant",
            json!({ "user": app, "db": shop, "privileges": ["SUPER"] }),
            "privilege",
        ),
        ("database/grant", json!({ "user": app, "db": shop, "privileges": [] }), "at least one"),
        (
            "database/grant",
            json!({ "user": app, "db": format!("{alice}_%"), "privileges": ["ALL"] }),
            "'%'",
        ),
        ("database/set_remote_hosts", json!({ "name": app, "hosts": ["%"] }), "'%'"),
        ("database/set_remote_hosts", json!({ "name": app, "hosts": ["192.168.1.%"] }), "'%'"),
        (
            "database/set_remote_hosts",
            json!({ "name": app, "hosts": ["evil.example"] }),
            "database host",
        ),
    ];
    for (action, body, expect) in cases {
        let reply = me.call(action, body.clone());
        assert!(
            (400..500).contains(&reply.status),
            "{action} {body}: {} {}",
            reply.status,
            reply.body
        );
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expect), "{action} {body}: {message:?} lacks {expect:?}");
    }
    assert_eq!(files, sandbox.tree_digest(), "a refused request changed files");
    assert_eq!(mariadb, mariadb_state(&sandbox), "a refused request changed MariaDB");

    // The plan's database limit holds.
    let plan = unique("one");
    let reply = admin.call("plan/save", json!({ "name": plan, "limits": { "databases": 1 } }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = admin.call("account/change_plan", json!({ "username": alice, "plan": plan }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = me.call("database/create_db", json!({ "name": format!("{alice}_two") }));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.code(), "limit_reached");
    assert_eq!(mariadb, mariadb_state(&sandbox));
    // A plan with no room for the databases she has is refused.
    let none = unique("zero");
    let reply = admin.call("plan/save", json!({ "name": none, "limits": { "databases": 0 } }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = admin.call("account/change_plan", json!({ "username": alice, "plan": none }));
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn databases_are_isolated_and_go_with_their_account() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let (alice, bob) = (unique("alice"), unique("bob"));
    let alice_pw = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let bob_pw = sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let (a, b) = (sandbox.user(&alice, &alice_pw), sandbox.user(&bob, &bob_pw));
    let (a_db, a_app) = (format!("{alice}_shop"), format!("{alice}_app"));
    let (b_db, b_app) = (format!("{bob}_shop"), format!("{bob}_app"));
    for (client, db, app) in [(&a, &a_db, &a_app), (&b, &b_db, &b_app)] {
        assert_eq!(client.call("database/create_db", json!({ "name": db })).status, 200);
        let body = json!({ "name": app, "password": "Good-Pass-2026" });
        assert_eq!(client.call("database/create_user", body).status, 200);
        let body = json!({ "user": app, "db": db, "privileges": ["ALL"] });
        assert_eq!(client.call("database/grant", body).status, 200);
    }
    let sql = "CREATE TABLE secret (v TEXT); INSERT INTO secret VALUES ('bob only')";
    ok(&sandbox.mysql_as(&b_app, "Good-Pass-2026", &b_db, sql));

    // alice_app cannot read bob's database.
    let err = refused(&sandbox.mysql_as(&a_app, "Good-Pass-2026", &b_db, "SELECT * FROM secret"));
    assert!(err.contains("Access denied"), "{err}");
    let sql = format!("SELECT * FROM `{b_db}`.secret");
    refused(&sandbox.mysql_as(&a_app, "Good-Pass-2026", &a_db, &sql));

    // alice's token cannot list, grant on, drop or touch bob's databases and users.
    let files = sandbox.tree_digest();
    let mariadb = mariadb_state(&sandbox);
    let attempts = [
        ("database/list", json!({ "username": bob })),
        ("database/delete_db", json!({ "name": b_db })),
        ("database/delete_db", json!({ "username": bob, "name": b_db })),
        ("database/grant", json!({ "user": a_app, "db": b_db, "privileges": ["ALL"] })),
        ("database/grant", json!({ "user": b_app, "db": a_db, "privileges": ["ALL"] })),
        ("database/revoke", json!({ "user": b_app, "db": b_db, "privileges": ["ALL"] })),
        ("database/delete_user", json!({ "name": b_app })),
        ("database/change_password", json!({ "name": b_app, "password": "Stolen-Pass-1" })),
        ("database/set_remote_hosts", json!({ "name": b_app, "hosts": ["203.0.113.9"] })),
        (
            "database/create_user",
            json!({ "name": format!("{bob}_evil"), "password": "Good-Pass-2026" }),
        ),
    ];
    for (action, body) in attempts {
        let reply = a.call(action, body.clone());
        assert!(
            [400, 403, 404].contains(&reply.status),
            "{action} {body}: {} {}",
            reply.status,
            reply.body
        );
    }
    let list = a.get("database/list", "");
    assert!(!list.body.to_string().contains(&bob), "{}", list.body);
    assert_eq!(files, sandbox.tree_digest(), "a refused request changed files");
    assert_eq!(mariadb, mariadb_state(&sandbox), "a refused request changed MariaDB");

    // Remote hosts: one more MariaDB account with the same grants.
    let reply = a.call(
        "database/set_remote_hosts",
        json!({ "name": a_app, "hosts": ["203.0.113.7", "2001:DB8::1"] }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["remote_hosts"], json!(["2001:db8::1", "203.0.113.7"]));
    let grants = sandbox.mysql_root(&format!("SHOW GRANTS FOR '{a_app}'@'203.0.113.7'"));
    assert!(grants.contains("ALL PRIVILEGES"), "{grants}");

    // Suspension locks alice's database users; unsuspension unlocks them.
    let reply = admin.call("account/suspend", json!({ "username": alice, "reason": "unpaid" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let err = refused(&sandbox.mysql_as(&a_app, "Good-Pass-2026", &a_db, "SELECT 1"));
    assert!(err.contains("locked"), "{err}");
    let locked = sandbox.mysql_root(&format!(
        "SELECT COUNT(*) FROM mysql.global_priv WHERE User = '{a_app}' \
         AND JSON_VALUE(Priv, '$.account_locked') = 1"
    ));
    assert_eq!(locked, "5\n", "every host of the user is locked");
    ok(&sandbox.mysql_as(&b_app, "Good-Pass-2026", &b_db, "SELECT 1"));
    assert_eq!(admin.call("account/unsuspend", json!({ "username": alice })).status, 200);
    ok(&sandbox.mysql_as(&a_app, "Good-Pass-2026", &a_db, "SELECT 1"));

    // Terminating alice leaves nothing of hers in MariaDB; bob's are untouched.
    assert_eq!(admin.call("account/terminate", json!({ "username": alice })).status, 200);
    let left = sandbox.mysql_root(&format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{alice}%'; \
         SELECT User FROM mysql.global_priv WHERE User LIKE '{alice}%'; \
         SELECT Db FROM mysql.db WHERE User LIKE '{alice}%' OR Db LIKE '{alice}%'"
    ));
    assert_eq!(left, "", "left behind: {left}");
    let sql = "SELECT v FROM secret";
    assert_eq!(ok(&sandbox.mysql_as(&b_app, "Good-Pass-2026", &b_db, sql)), "bob only\n");
}
