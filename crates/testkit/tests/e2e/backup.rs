//! HS::Backup, proven by restoring: a whole account backed up, terminated and
//! restored serves the same pages, has the same rows, mail, records, crontab
//! and an identical listing (owners, modes, times, checksums) of its home.

use std::path::Path;
use std::process::Command;

use hs_testkit::{Client, Sandbox, unique};
use serde_json::{Value, json};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Owners, modes, times, sizes, link targets and checksums of every entry.
fn listing(dir: &Path) -> String {
    let d = dir.to_str().unwrap();
    let mut text = run("find", &[d, "-printf", "%P|%y|%u|%g|%m|%T@|%s|%l|%n\n"]);
    let sums = run("find", &[d, "-type", "f", "-exec", "sha256sum", "{}", "+"]);
    let mut lines: Vec<&str> = sums.lines().collect();
    lines.sort();
    text.push_str(&lines.join("\n").replace(d, ""));
    let mut all: Vec<&str> = text.lines().collect();
    all.sort();
    all.join("\n")
}

fn ok(reply: &hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body.clone()
}

/// alice's site: odd modes, a symlink, a hardlink pair, a PHP page.
fn make_site(sandbox: &Sandbox, user: &str) -> std::path::PathBuf {
    let home = sandbox.layout_path(&format!("home/{user}"));
    let web = home.join("public_html");
    std::fs::write(web.join("index.html"), "<h1>alice's shop</h1>\n").unwrap();
    std::fs::write(web.join("hello.php"), "<?php echo 'php says ', 6*7;\n").unwrap();
    std::fs::create_dir(web.join("img")).unwrap();
    std::fs::write(web.join("img/logo.png"), vec![7u8; 70_000]).unwrap();
    std::fs::create_dir(home.join("data")).unwrap();
    std::fs::write(home.join("data/secret.txt"), "top secret\n").unwrap();
    std::fs::hard_link(home.join("data/secret.txt"), home.join("data/secret-link.txt")).unwrap();
    std::os::unix::fs::symlink("../data/secret.txt", web.join("latest")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", home.join("outward")).unwrap();
    let user_group = format!("{user}:{user}");
    for p in ["data", "data/secret.txt", "outward"] {
        run("chown", &["-h", &user_group, home.join(p).to_str().unwrap()]);
    }
    let web_group = format!("{user}:www-data");
    for p in ["index.html", "hello.php", "img", "img/logo.png", "latest"] {
        run("chown", &["-h", &web_group, web.join(p).to_str().unwrap()]);
    }
    run("chmod", &["0640", web.join("hello.php").to_str().unwrap()]);
    run("chmod", &["0604", home.join("data/secret.txt").to_str().unwrap()]);
    run("chmod", &["0751", home.join("data").to_str().unwrap()]);
    run(
        "touch",
        &["-h", "-d", "2001-02-03 04:05:06.123456789", home.join("outward").to_str().unwrap()],
    );
    run("touch", &["-d", "2010-01-01 00:00:00.5", web.join("img").to_str().unwrap()]);
    home
}

fn make_mail(sandbox: &Sandbox, domain: &str) -> std::path::PathBuf {
    let maildir = sandbox.layout_path(&format!("var/mail/vhosts/{domain}/info"));
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(maildir.join("cur/1733000000.M1P1.host:2,S"), "Subject: one\n\nfirst\n")
        .unwrap();
    std::fs::write(maildir.join("new/1733000001.M2P2.host"), "Subject: two\n\nsecond\n").unwrap();
    maildir
}

fn create_backup(client: &Client, body: Value) -> String {
    let made = ok(&client.call("backup/create", body));
    made["id"].as_str().unwrap().to_string()
}

#[test]
fn a_terminated_account_comes_back_whole() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("alice");
    let domain = format!("{alice}.test");
    sandbox.create_account(&admin, &alice, &domain);
    let home = make_site(&sandbox, &alice);
    let maildir = make_mail(&sandbox, &domain);

    let db = format!("{alice}_shop");
    ok(&admin.call("database/create_db", json!({ "username": alice, "name": db })));
    let app = format!("{alice}_app");
    ok(&admin.call(
        "database/create_user",
        json!({ "username": alice, "name": app, "password": "Db-Pass-2026!" }),
    ));
    ok(&admin.call(
        "database/grant",
        json!({ "username": alice, "user": app, "db": db, "privileges": ["ALL"] }),
    ));
    sandbox.mysql_root(&format!(
        "CREATE TABLE {db}.items (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB; \
         INSERT INTO {db}.items VALUES (1, 'apple'), (2, 'pear')"
    ));
    ok(&admin.call(
        "dns/add_record",
        json!({ "username": alice, "domain": domain, "type": "A", "name": "app",
                "value": "192.0.2.7", "ttl": 300 }),
    ));
    ok(&admin.call(
        "dns/add_record",
        json!({ "username": alice, "domain": domain, "type": "TXT", "name": "@",
                "value": "hello backup", "ttl": 300 }),
    ));
    ok(&admin.call(
        "cron/add",
        json!({ "username": alice, "schedule": "17 3 * * *", "command": "php ~/cron.php" }),
    ));

    let page = sandbox.web(&domain, "/");
    let php = sandbox.web(&domain, "/hello.php");
    assert_eq!(php.2, "php says 42");
    let records = (sandbox.dig(&format!("app.{domain}"), "A"), sandbox.dig(&domain, "TXT"));
    let crontab = sandbox.crontab(&alice).unwrap();
    let files = listing(&home);
    let mail = listing(&maildir);
    let rows = "SELECT id, name FROM {db}.items ORDER BY id".replace("{db}", &db);
    let before_rows = sandbox.mysql_root(&rows);

    let id = create_backup(&admin, json!({ "username": alice }));
    let listed = ok(&admin.get("backup/list", &format!("username={alice}")));
    assert_eq!(listed["backups"][0]["id"], id.as_str());
    assert_eq!(listed["backups"][0]["contents"]["databases"], json!([db]));
    // Standard tools unpack it.
    let archive = sandbox.layout_path(&format!("backup/{alice}/{id}.tar.zst"));
    let names = run("tar", &["--zstd", "-tf", archive.to_str().unwrap()]);
    for want in ["home/data/secret.txt", "mysql/", "manifest.json", "dns/", "cron/crontab.txt"] {
        assert!(names.contains(want), "{want} not in {names}");
    }
    assert!(names.contains(&format!("mail/{domain}/info/cur/")), "{names}");
    let verified = ok(&admin.call("backup/verify", json!({ "username": alice, "id": id })));
    assert_eq!(verified["ok"], true, "{verified}");

    ok(&admin.call("account/terminate", json!({ "username": alice })));
    assert!(!home.exists());
    std::fs::remove_dir_all(sandbox.layout_path(&format!("var/mail/vhosts/{domain}"))).unwrap();
    assert_eq!(sandbox.web(&domain, "/hello.php").0, 404);

    let restored = ok(&admin.call("backup/restore", json!({ "username": alice, "id": id })));
    assert_eq!(restored["warnings"], json!([]), "{restored}");
    assert_eq!(sandbox.web(&domain, "/"), page);
    assert_eq!(sandbox.web(&domain, "/hello.php"), php);
    assert_eq!(sandbox.mysql_root(&rows), before_rows);
    let login = sandbox.mysql_as(&app, "Db-Pass-2026!", &db, "SELECT COUNT(*) FROM items");
    assert_eq!(String::from_utf8_lossy(&login.stdout), "2\n", "{login:?}");
    assert_eq!((sandbox.dig(&format!("app.{domain}"), "A"), sandbox.dig(&domain, "TXT")), records);
    assert_eq!(sandbox.crontab(&alice).unwrap(), crontab);
    assert_eq!(listing(&home), files);
    assert_eq!(listing(&maildir), mail);
    // A second restore over the living account is refused, not merged.
    let again = admin.call("backup/restore", json!({ "username": alice, "id": id }));
    assert_eq!(again.status, 409, "{}", again.body);
}
