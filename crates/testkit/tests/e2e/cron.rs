//! HS::Cron: jobs land in exactly the account's own crontab (read back with
//! `crontab -l` inside the sandbox's private cron), and no input can add a line
//! of its own to a crontab.
//!
//! That the real daemon runs the jobs, as the account's user and not while it
//! is suspended, is proven in `tests/cron_daemon.rs`.

use hs_testkit::{Sandbox, unique};
use serde_json::{Value, json};

fn ok(reply: hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[test]
fn jobs_are_added_edited_and_deleted_in_exactly_the_users_crontab() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("crona");
    let bob = unique("cronb");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    assert_eq!(sandbox.crontab(&alice), None);

    // Bob has a job of his own, which nothing alice does may touch.
    ok(admin
        .call("cron/add", json!({ "username": bob, "schedule": "@hourly", "command": "true" })));
    let bobs = sandbox.crontab(&bob).unwrap();

    let command = "php $HOME/public_html/cron.php > /dev/null";
    let job = ok(me.call(
        "cron/add",
        json!({ "schedule": "*/5 * * * *", "command": command, "comment": "every five" }),
    ));
    let first = job["id"].as_u64().unwrap();
    assert_eq!(sandbox.cron_entries(&alice), [format!("*/5 * * * * {command}")]);
    let crontab = sandbox.crontab(&alice).unwrap();
    assert!(crontab.contains("# job 1: every five\n"), "{crontab}");
    assert!(crontab.contains("MAILTO=\"\"\n"), "{crontab}");

    // The next runs: five, on minutes divisible by five, in order.
    let runs: Vec<&str> =
        job["next_runs"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(runs.len(), 5, "{job}");
    for run in &runs {
        let minute: u32 = run[14..16].parse().unwrap();
        assert_eq!((minute % 5, &run[16..19]), (0, ":00"), "{run}");
    }
    assert!(runs.windows(2).all(|w| w[0] < w[1]), "{runs:?}");

    let second = ok(me.call("cron/add", json!({ "schedule": "@daily", "command": "true" })))["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        sandbox.cron_entries(&alice),
        [format!("*/5 * * * * {command}"), "@daily true".to_string()]
    );

    // Editing changes exactly that entry.
    ok(me.call("cron/edit", json!({ "id": first, "schedule": "0 3 * * mon-fri" })));
    assert_eq!(
        sandbox.cron_entries(&alice),
        [format!("0 3 * * mon-fri {command}"), "@daily true".to_string()]
    );
    ok(me.call("cron/edit", json!({ "id": second, "command": "/usr/bin/true", "comment": "" })));
    assert_eq!(
        sandbox.cron_entries(&alice),
        [format!("0 3 * * mon-fri {command}"), "@daily /usr/bin/true".to_string()]
    );

    // Deleting removes exactly that entry; ids are never reused.
    assert_eq!(ok(me.call("cron/delete", json!({ "id": first })))["deleted"], first);
    assert_eq!(sandbox.cron_entries(&alice), ["@daily /usr/bin/true"]);
    let third = ok(me.call("cron/add", json!({ "schedule": "30 2 * * *", "command": "id" })));
    assert_eq!(third["id"].as_u64().unwrap(), 3);
    assert_eq!(sandbox.cron_entries(&alice), ["@daily /usr/bin/true", "30 2 * * * id"]);

    // MAILTO is the account's, and an empty one discards the output again.
    ok(me.call("cron/set_mailto", json!({ "mailto": format!("ops@{alice}.test") })));
    let crontab = sandbox.crontab(&alice).unwrap();
    assert!(crontab.contains(&format!("\nMAILTO=ops@{alice}.test\n")), "{crontab}");
    let list = ok(me.get("cron/list", ""));
    assert_eq!(list["mailto"], format!("ops@{alice}.test"));
    assert_eq!(list["jobs"].as_array().unwrap().len(), 2, "{list}");
    ok(me.call("cron/set_mailto", json!({ "mailto": "" })));
    assert!(sandbox.crontab(&alice).unwrap().contains("\nMAILTO=\"\"\n"));

    // The last job gone, the crontab goes too; bob's never changed.
    ok(me.call("cron/delete", json!({ "id": second })));
    ok(me.call("cron/delete", json!({ "id": 3 })));
    assert_eq!(sandbox.crontab(&alice), None);
    assert_eq!(sandbox.crontab(&bob).unwrap(), bobs);
    assert_eq!(sandbox.crontab("root"), None, "the private cron's root table was touched");

    // Termination removes the crontab with the account.
    ok(admin.call("account/terminate", json!({ "username": bob })));
    assert!(!sandbox.root.join("var/spool/cron/crontabs").join(&bob).exists());
}

#[test]
fn bad_cron_input_is_refused_and_no_crontab_changes() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("cronc");
    let bob = unique("crond");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    ok(me.call("cron/add", json!({ "schedule": "0 * * * *", "command": "true" })));
    ok(admin.call("cron/add", json!({ "username": bob, "schedule": "@daily", "command": "id" })));

    // A plan with room for one job.
    ok(admin.call("plan/save", json!({ "name": "onecron", "limits": { "cron_jobs": 1 } })));
    ok(admin.call("plan/save", json!({ "name": "nocron", "limits": { "cron_jobs": 0 } })));
    ok(admin.call("account/change_plan", json!({ "username": alice, "plan": "onecron" })));

    // A reseller, who manages neither alice nor bob.
    let reseller = unique("cronr");
    ok(admin.call(
        "account/create",
        json!({ "username": reseller, "domain": format!("{reseller}.test"),
                "password": "Reseller-Pass-1", "reseller": true }),
    ));
    let mut res = hs_testkit::Client::new(&sandbox.info.admin_url);
    res.login(&reseller, "Reseller-Pass-1");

    let before = sandbox.tree_digest();
    let (alice_tab, bob_tab) = (sandbox.crontab(&alice), sandbox.crontab(&bob));

    let job = |schedule: &str, command: &str| json!({ "schedule": schedule, "command": command });
    let cases: Vec<(&str, Value, &str)> = vec![
        ("cron/add", job("* * * * *", "true\n* * * * * root rm -rf /"), "line break"),
        ("cron/add", job("* * * * *", "true\r\nMAILTO=evil@example.com"), "line break"),
        ("cron/add", job("* * * * *", "true\0id"), "NUL"),
        ("cron/add", job("61 * * * *", "true"), "minute"),
        ("cron/add", job("* * * * * *", "true"), "6 fields"),
        ("cron/add", job("* * * *", "true"), "4 fields"),
        ("cron/add", job("* * * * *\n* * * * *", "true"), "line break"),
        ("cron/add", job("@every 5m", "true"), "macro"),
        ("cron/add", job("junk", "true"), "cron schedule"),
        ("cron/add", job("* * * * *", ""), "must not be empty"),
        ("cron/add", job("* * * * *", &"x".repeat(10 * 1024)), "at most 1024 bytes"),
        (
            "cron/add",
            json!({ "schedule": "@daily", "command": "true", "comment": "a\n* * * * * id" }),
            "line break",
        ),
        ("cron/add", json!({ "schedule": "@daily", "command": "true", "user": "root" }), "user"),
        ("cron/edit", json!({ "id": 1, "command": "true\n@reboot id" }), "line break"),
        ("cron/edit", json!({ "id": 1, "schedule": "* * * * * root" }), "6 fields"),
        ("cron/set_mailto", json!({ "mailto": "a@example.com\nSHELL=/bin/bash" }), "line break"),
        ("cron/set_mailto", json!({ "mailto": "\"a\"@example.com" }), "double quote"),
        // The plan allows one job, and she has it.
        ("cron/add", job("@daily", "true"), "allows 1 cron jobs"),
        // Jobs that are not hers: another id, bob's account.
        ("cron/edit", json!({ "id": 2, "command": "id" }), "no cron job 2"),
        ("cron/delete", json!({ "id": 7 }), "no cron job 7"),
        ("cron/add", json!({ "username": bob, "schedule": "@daily", "command": "id" }), "own"),
        ("cron/edit", json!({ "username": bob, "id": 1, "command": "id" }), "own"),
        ("cron/delete", json!({ "username": bob, "id": 1 }), "own"),
        ("cron/list", json!({ "username": bob }), "own"),
        ("cron/set_mailto", json!({ "username": bob, "mailto": "" }), "own"),
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
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }
    assert_eq!(me.call("cron/add", job("@daily", "true")).code(), "limit_reached");

    for (action, body) in [
        ("cron/list", json!({ "username": alice })),
        ("cron/add", json!({ "username": alice, "schedule": "@daily", "command": "id" })),
        ("cron/edit", json!({ "username": bob, "id": 1, "command": "id" })),
        ("cron/delete", json!({ "username": bob, "id": 1 })),
    ] {
        let reply = res.call(action, body);
        assert_eq!(reply.status, 404, "reseller {action}: {}", reply.body);
    }

    // Staff are held to the same rules, and a plan too small for the jobs is refused.
    let reply = admin
        .call("cron/add", json!({ "username": bob, "schedule": "61 * * * *", "command": "x" }));
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = admin.call("account/change_plan", json!({ "username": alice, "plan": "nocron" }));
    assert_eq!((reply.status, reply.code()), (403, "limit_reached"), "{}", reply.body);
    let out = sandbox.cli(&["cron", "add", &bob, "* * * * *", "true\n* * * * * root id"], None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(before, sandbox.tree_digest(), "a refused request changed files");
    assert_eq!((sandbox.crontab(&alice), sandbox.crontab(&bob)), (alice_tab, bob_tab));
    assert_eq!(sandbox.cron_entries(&alice), ["0 * * * * true"]);
}
