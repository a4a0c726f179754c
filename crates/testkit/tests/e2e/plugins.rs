//! Plugins: the repository's example plugin vetoes `test*` accounts through its
//! `pre_createacct` (API and CLI alike, leaving no trace), records
//! `post_createacct` with the operation id, answers its route with the caller's
//! identity and shows its menu entry in the portal. Broken manifests are
//! refused and reported while hs-srvd starts and runs with the other plugins; a
//! hook that hangs is stopped at its time limit and the action fails cleanly; a
//! failing `post_` hook is shown to the administrator.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hs_testkit::browser::Browser;
use hs_testkit::{Client, Sandbox, unique};
use serde_json::{Value, json};

const PASSWORD: &str = "Site-Pass-2026!";

fn ok(reply: hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Copies a folder tree, keeping the files' modes.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Installs the repository's example plugin the way an administrator does:
/// copy the folder, then `hspanel plugin enable` (which makes its data folder).
fn install_example(sandbox: &Sandbox) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/example");
    copy_tree(&source, &sandbox.layout_path("usr/local/hspanel/plugins/example"));
    let out = sandbox.cli(&["plugin", "enable", "example"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Writes a plugin folder: `plugin.json` (as given) and executable scripts.
fn write_plugin(sandbox: &Sandbox, name: &str, manifest: &str, scripts: &[(&str, &str)]) {
    let dir = sandbox.layout_path(&format!("usr/local/hspanel/plugins/{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("plugin.json"), manifest).unwrap();
    for (path, body) in scripts {
        let file = dir.join(path);
        let parent = file.parent().unwrap();
        std::fs::create_dir_all(parent).unwrap();
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&file, body).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn linux_user_exists(name: &str) -> bool {
    nix::unistd::User::from_name(name).unwrap().is_some()
}

fn plugin<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

fn create(admin: &Client, user: &str) -> hs_testkit::Reply {
    admin.call(
        "account/create",
        json!({ "username": user, "domain": format!("{user}.test"), "password": PASSWORD }),
    )
}

#[test]
fn example_plugin_vetoes_records_and_serves_its_route_and_menu() {
    let sandbox = Sandbox::start();
    install_example(&sandbox);
    let admin = sandbox.admin();

    let list = ok(admin.get("plugin/list", ""));
    let example = plugin(&list, "example");
    assert_eq!(example["status"], "active", "{example}");
    assert!(example["hooks"].as_array().unwrap().contains(&json!("pre_createacct")));

    // Every hook point is served, with its event's fields.
    let hooks = ok(admin.get("plugin/hooks", ""));
    let names: Vec<&str> =
        hooks["hooks"].as_array().unwrap().iter().map(|h| h["pre"].as_str().unwrap()).collect();
    for wanted in ["pre_createacct", "pre_killacct", "pre_suspendacct", "pre_killdomain"] {
        assert!(names.contains(&wanted), "{wanted} missing");
    }
    for wanted in ["pre_addzonerecord", "pre_createdb", "pre_addcron", "pre_addpop"] {
        assert!(names.contains(&wanted), "{wanted} missing");
    }
    let fields = hooks["event_fields"].to_string();
    assert!(fields.contains("operation_id") && fields.contains("who"), "{fields}");

    // pre_createacct refuses `test…`: a 4xx with the plugin's message, no trace.
    let refused_user = unique("testx");
    let before = sandbox.tree_digest();
    let reply = create(&admin, &refused_user);
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.code(), "vetoed");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("example") && message.contains("reserved"), "{message}");
    assert_eq!(sandbox.tree_digest(), before, "a vetoed creation changed files");
    assert!(!linux_user_exists(&refused_user));

    // The CLI goes through the same hook.
    let out = sandbox.cli(
        &[
            "account",
            "create",
            "--username",
            &refused_user,
            "--domain",
            &format!("{refused_user}.test"),
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reserved"));
    assert_eq!(sandbox.tree_digest(), before, "a vetoed CLI creation changed files");

    // A normal account works, and post_createacct records it with the op id.
    let user = unique("alice");
    let reply = create(&admin, &user);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let op_id = reply.op_id.clone().unwrap();
    let log = sandbox.layout_path("var/hspanel/plugins/example/events.log");
    let events = std::fs::read_to_string(&log).unwrap();
    let line = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["hook"] == "post_createacct" && e["input"]["username"] == user.as_str())
        .unwrap_or_else(|| panic!("no post_createacct for {user}: {events}"));
    assert_eq!(line["operation_id"], op_id.as_str());
    assert_eq!(line["who"]["role"], "admin");
    assert_eq!(line["result"]["username"], user.as_str());
    assert!(!events.contains(PASSWORD), "a password reached a plugin");

    // The route answers an authenticated user with who is calling.
    let client = sandbox.user(&user, PASSWORD);
    let reply = client.call("plugin/example/hello", json!({}));
    let answer = ok(reply);
    assert_eq!(answer["who"]["user"], user.as_str(), "{answer}");
    assert_eq!(answer["who"]["role"], "user");
    assert_eq!(answer["who"]["portal"], "user");
    assert!(answer["operation_id"].as_str().unwrap().starts_with("op-"));
    let as_admin = ok(admin.get("plugin/example/hello", ""));
    assert_eq!(as_admin["who"]["role"], "admin");
    // ... and refuses an anonymous caller, a forged token, and unknown routes.
    let anonymous = Client::new(&sandbox.info.user_url);
    assert_eq!(anonymous.call("plugin/example/hello", json!({})).status, 401);
    assert_eq!(anonymous.get("plugin/example/hello", "").status, 401);
    assert_eq!(anonymous.with_token("hsp_forged").get("plugin/example/hello", "").status, 401);
    assert_eq!(client.call("plugin/example/nope", json!({})).status, 404);
    assert_eq!(client.call("plugin/missing/hello", json!({})).status, 404);
    assert_eq!(client.call("plugin/..%2f..%2fetc/hello", json!({})).status, 404);

    // The menu entry, for each portal.
    let menu = ok(client.get("plugin/menu", ""));
    assert_eq!(menu["menu"][0]["label"], "Hello (example plugin)", "{menu}");
    assert_eq!(menu["menu"][0]["route"], "hello");
    // Managing plugins is the administrator's.
    assert_eq!(client.get("plugin/list", "").status, 404);

    // In the portal: the nav fetches the entry and the page shows the answer.
    let browser = Browser::start();
    browser.goto(&sandbox.info.user_url);
    browser.type_into("form[data-form=login] input[name=username]", &user);
    browser.type_into("form[data-form=login] input[name=password]", PASSWORD);
    browser.click("form[data-form=login] button[type=submit]");
    let link = "nav a[data-plugin=\"example/hello\"]";
    browser.find(link);
    assert_eq!(browser.text(link), "Hello (example plugin)");
    browser.click(link);
    browser.find(".plugin-answer");
    assert!(browser.text(".plugin-answer").contains(&format!("Hello, {user}")));

    // Disabled: no hooks, no route, no menu; enabled again: back.
    ok(admin.call("plugin/disable", json!({ "name": "example" })));
    assert_eq!(client.call("plugin/example/hello", json!({})).status, 404);
    assert_eq!(ok(client.get("plugin/menu", ""))["menu"], json!([]));
    let out = sandbox.cli(&["--json", "plugin", "enable", "example"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(create(&admin, &unique("testy")).status, 422);
}

#[test]
fn broken_plugins_are_refused_and_hooks_have_time_limits() {
    let mut sandbox = Sandbox::start();
    install_example(&sandbox);
    let hook = "#!/bin/sh\nexit 0\n";
    write_plugin(
        &sandbox,
        "escroute",
        r#"{"name":"escroute","routes":[{"path":"../../x","exec":"bin/x"}]}"#,
        &[("bin/x", hook)],
    );
    write_plugin(
        &sandbox,
        "escpath",
        r#"{"name":"escpath","hooks":{"pre_killacct":"../example/hooks/log_event"}}"#,
        &[],
    );
    write_plugin(
        &sandbox,
        "symlinked",
        r#"{"name":"symlinked","hooks":{"pre_killacct":"out/true"}}"#,
        &[],
    );
    std::os::unix::fs::symlink(
        "/bin",
        sandbox.layout_path("usr/local/hspanel/plugins/symlinked/out"),
    )
    .unwrap();
    write_plugin(&sandbox, "unknownkey", r#"{"name":"unknownkey","surprise":true}"#, &[]);
    write_plugin(&sandbox, "badjson", r#"{"name":"badjson","#, &[]);
    let huge = format!(r#"{{"name":"huge","description":"{}"}}"#, "x".repeat(100_000));
    write_plugin(&sandbox, "huge", &huge, &[]);

    // hs-srvd starts with them, reports each, and runs the good one.
    sandbox.restart_with_config(|_| {});
    let admin = sandbox.admin();
    let list = ok(admin.get("plugin/list", ""));
    let expected = [
        ("escroute", "route path"),
        ("escpath", "leaves the plugin's folder"),
        ("symlinked", "symlink"),
        ("unknownkey", "unknown field `surprise`"),
        ("badjson", "plugin.json"),
        ("huge", "larger than"),
    ];
    for (name, fragment) in expected {
        let p = plugin(&list, name);
        assert_eq!(p["status"], "broken", "{p}");
        assert!(p["error"].as_str().unwrap().contains(fragment), "{name}: {p}");
        let reply = admin.call("plugin/enable", json!({ "name": name }));
        assert_eq!(reply.status, 400, "{}", reply.body);
    }
    assert_eq!(plugin(&list, "example")["status"], "active");
    assert_eq!(create(&admin, &unique("testz")).status, 422);
    let log = std::fs::read_to_string(sandbox.layout_path("var/log/hspanel/hs-srvd.log")).unwrap();
    assert!(log.contains("plugin refused"), "hs-srvd did not report the broken plugins");

    // Programs run as nobody; root only for a manifest the administrator approved.
    let whoami = "#!/bin/sh\ncat >/dev/null\necho \"{\\\"uid\\\":$(id -u)}\"\n";
    let route = r#""routes":[{"path":"whoami","exec":"bin/whoami"}]"#;
    write_plugin(
        &sandbox,
        "plain",
        &format!(r#"{{"name":"plain",{route}}}"#),
        &[("bin/whoami", whoami)],
    );
    let rooted = format!(r#"{{"name":"rooted","run_as":"root",{route}}}"#);
    write_plugin(&sandbox, "rooted", &rooted, &[("bin/whoami", whoami)]);
    assert_eq!(ok(admin.get("plugin/plain/whoami", ""))["uid"], 65534);
    let status = |admin: &Client| ok(admin.get("plugin/list", ""))["plugins"].clone();
    let rooted_status = |admin: &Client| {
        let list = json!({ "plugins": status(admin) });
        plugin(&list, "rooted")["status"].as_str().unwrap().to_string()
    };
    assert_eq!(rooted_status(&admin), "needs_root_approval");
    assert_eq!(admin.get("plugin/rooted/whoami", "").status, 404);
    assert_eq!(admin.call("plugin/enable", json!({ "name": "rooted" })).status, 400);
    ok(admin.call("plugin/enable", json!({ "name": "rooted", "allow_root": true })));
    assert_eq!(ok(admin.get("plugin/rooted/whoami", ""))["uid"], 0);
    // A changed manifest needs a new approval.
    let dir = sandbox.layout_path("usr/local/hspanel/plugins/rooted");
    std::fs::write(dir.join("plugin.json"), format!("{rooted}\n")).unwrap();
    assert_eq!(rooted_status(&admin), "needs_root_approval");
    assert_eq!(admin.get("plugin/rooted/whoami", "").status, 404);

    // A failing post_ hook undoes nothing and is shown to the administrator.
    write_plugin(
        &sandbox,
        "failpost",
        r#"{"name":"failpost","hooks":{"post_createacct":"hooks/post"}}"#,
        &[("hooks/post", "#!/bin/sh\necho '{\"message\":\"billing is down\"}'\nexit 3\n")],
    );
    let user = unique("bob");
    let reply = create(&admin, &user);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(linux_user_exists(&user));
    let list = ok(admin.get("plugin/list", ""));
    let alerts = &plugin(&list, "failpost")["alerts"];
    assert_eq!(alerts[0]["message"], "billing is down", "{alerts}");
    assert_eq!(alerts[0]["operation_id"], reply.op_id.unwrap().as_str());
    assert_eq!(alerts[0]["hook"], "post_createacct");

    // A pre_ hook that hangs is stopped at its limit; the action fails cleanly.
    write_plugin(
        &sandbox,
        "slowpoke",
        r#"{"name":"slowpoke","timeout_secs":2,"hooks":{"pre_createacct":"hooks/hang"}}"#,
        &[("hooks/hang", "#!/bin/sh\nsleep 317 &\nsleep 318\n")],
    );
    // Enabling (the administrator's step after installing) makes its data folder.
    ok(admin.call("plugin/enable", json!({ "name": "slowpoke" })));
    let user = unique("carol");
    let before = sandbox.tree_digest();
    let started = Instant::now();
    let reply = create(&admin, &user);
    let took = started.elapsed();
    assert_eq!(reply.status, 422, "{}", reply.body);
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("slowpoke") && message.contains("within 2 s"), "{message}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "{took:?}");
    assert_eq!(sandbox.tree_digest(), before);
    assert!(!linux_user_exists(&user));
    let left = std::process::Command::new("pgrep").args(["-f", "sleep 31[78]"]).output().unwrap();
    assert!(left.stdout.is_empty(), "the hook's processes survived its time limit");

    // Disabled, it no longer holds anything up.
    ok(admin.call("plugin/disable", json!({ "name": "slowpoke" })));
    assert_eq!(create(&admin, &user).status, 200);
}
