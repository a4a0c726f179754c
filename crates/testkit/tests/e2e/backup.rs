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

/// stdout whatever the exit status (grep exits 1 when it finds nothing).
fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
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

const MAIL_PW: &str = "Mail-Pass-2026!";

/// The subjects of the messages in `email`'s INBOX, read over IMAP.
fn imap_subjects(sandbox: &Sandbox, email: &str) -> Vec<String> {
    let url = format!("imap://127.0.0.1:{}/INBOX;MAILINDEX=", sandbox.info.imap_port);
    let mut subjects = Vec::new();
    for n in 1.. {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "-u", &format!("{email}:{MAIL_PW}")])
            .arg(format!("{url}{n}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let Some(subject) = text.lines().find_map(|l| l.strip_prefix("Subject: ")) else {
            break;
        };
        subjects.push(subject.trim().to_string());
    }
    subjects
}

/// A real mailbox, info@domain, with two messages delivered over SMTP.
fn make_mail(sandbox: &Sandbox, admin: &Client, domain: &str) -> std::path::PathBuf {
    ok(&admin.call(
        "mail/create_account",
        json!({ "domain": domain, "user": "info", "password": MAIL_PW, "quota": "100M" }),
    ));
    let email = format!("info@{domain}");
    let server = format!("127.0.0.1:{}", sandbox.info.smtp_port);
    for subject in ["backup one", "backup two"] {
        run(
            "swaks",
            &["--server", &server, "--from", "someone@example.net", "--to", &email]
                .into_iter()
                .chain(["--header", &format!("Subject: {subject}"), "--timeout", "30"])
                .collect::<Vec<_>>(),
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while imap_subjects(sandbox, &email).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "the two messages did not arrive");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    sandbox.layout_path(&format!("var/mail/vhosts/{domain}/info"))
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
    let maildir = make_mail(&sandbox, &admin, &domain);
    let email = format!("info@{domain}");
    let dkim_key = sandbox.layout_path(&format!("etc/opendkim/keys/{domain}/hspanel.private"));
    let dkim = std::fs::read(&dkim_key).expect("the mail domain has a DKIM key");
    ok(&admin.call("ssl/autossl", json!({ "username": alice, "domain": domain })));
    let certificate = crate::ssl::served(&sandbox, &domain);
    assert!(certificate.1.contains("Pebble"), "{certificate:?}");

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
    // An RRset has no order: dig's answers are compared sorted.
    let records = || {
        let mut txt = sandbox.dig(&domain, "TXT");
        txt.sort();
        (sandbox.dig(&format!("app.{domain}"), "A"), txt)
    };
    let before_records = records();
    let crontab = sandbox.crontab(&alice).unwrap();
    let files = listing(&home);
    // Read over IMAP first: reading updates Dovecot's index files.
    let subjects = imap_subjects(&sandbox, &email);
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
    assert!(names.contains(&format!("mail/{domain}/info/Maildir/cur/")), "{names}");
    assert!(names.contains(&format!("dkim/{domain}.private")), "{names}");
    assert!(names.contains(&format!("certs/{domain}.pem")), "{names}");
    let verified = ok(&admin.call("backup/verify", json!({ "username": alice, "id": id })));
    assert_eq!(verified["ok"], true, "{verified}");

    ok(&admin.call("account/terminate", json!({ "username": alice })));
    assert!(!home.exists());
    assert!(!maildir.exists(), "termination left the mailbox");
    assert!(!dkim_key.exists(), "termination left the DKIM key");
    assert_eq!(sandbox.web(&domain, "/hello.php").0, 404);

    let restored = ok(&admin.call("backup/restore", json!({ "username": alice, "id": id })));
    assert_eq!(restored["warnings"], json!([]), "{restored}");
    assert_eq!(sandbox.web(&domain, "/"), page);
    assert_eq!(sandbox.web(&domain, "/hello.php"), php);
    assert_eq!(sandbox.mysql_root(&rows), before_rows);
    let login = sandbox.mysql_as(&app, "Db-Pass-2026!", &db, "SELECT COUNT(*) FROM items");
    assert_eq!(String::from_utf8_lossy(&login.stdout), "2\n", "{login:?}");
    assert_eq!(records(), before_records);
    assert_eq!(sandbox.crontab(&alice).unwrap(), crontab);
    assert_eq!(listing(&home), files);
    assert_eq!(listing(&maildir), mail);
    // The mailbox logs in with its old password and lists the same messages;
    // the DKIM key and the ACME certificate are the ones from before.
    assert_eq!(imap_subjects(&sandbox, &email), subjects);
    assert_eq!(std::fs::read(&dkim_key).unwrap(), dkim);
    assert_eq!(crate::ssl::served(&sandbox, &domain), certificate);
    // A second restore over the living account is refused, not merged.
    let again = admin.call("backup/restore", json!({ "username": alice, "id": id }));
    assert_eq!(again.status, 409, "{}", again.body);
}

fn random_file(path: &Path, len: usize) {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn chown_all(sandbox: &Sandbox, user: &str) {
    let home = sandbox.layout_path(&format!("home/{user}"));
    {
        let p = "docs";
        run("chown", &["-R", &format!("{user}:{user}"), home.join(p).to_str().unwrap()]);
    }
}

#[test]
fn an_incremental_stores_what_changed_and_restores_an_earlier_point() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let bob = unique("bob");
    let password = sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&bob, &password);
    let docs = sandbox.layout_path(&format!("home/{bob}/docs"));
    std::fs::create_dir(&docs).unwrap();
    for i in 0..40 {
        random_file(&docs.join(format!("f{i}.bin")), 64 * 1024);
    }
    std::fs::write(docs.join("note.txt"), "version one\n").unwrap();
    chown_all(&sandbox, &bob);

    let first = ok(&me.call("backup/create", json!({ "incremental": true })));
    assert_eq!(first["kind"], "incremental");
    assert!(first["size"].as_u64().unwrap() > 40 * 64 * 1024, "{first}");

    // A few files change: the next snapshot stores about that much.
    random_file(&docs.join("f1.bin"), 64 * 1024);
    random_file(&docs.join("f2.bin"), 64 * 1024);
    std::fs::write(docs.join("note.txt"), "version two\n").unwrap();
    chown_all(&sandbox, &bob);
    let second = ok(&me.call("backup/create", json!({ "incremental": true })));
    let added = second["size"].as_u64().unwrap();
    assert!(added < 3 * 64 * 1024 + 64 * 1024, "stored {added} bytes for 2 changed files");
    assert!(added > 2 * 64 * 1024 / 2, "stored {added}");

    // The earlier point in time gives the earlier content, beside the file...
    let id = first["id"].as_str().unwrap();
    let done = ok(&me.call("backup/restore_file", json!({ "id": id, "path": "/docs/note.txt" })));
    let beside = sandbox.layout_path(&format!("home/{bob}/docs/note.txt.restored-{id}"));
    assert_eq!(std::fs::read_to_string(&beside).unwrap(), "version one\n", "{done}");
    assert_eq!(std::fs::read_to_string(docs.join("note.txt")).unwrap(), "version two\n");
    // ...or in its place when asked, as the account's user.
    ok(&me.call("backup/restore_file", json!({ "id": id, "path": "/docs", "replace": true })));
    assert_eq!(std::fs::read_to_string(docs.join("note.txt")).unwrap(), "version one\n");
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(sandbox.layout_path(&format!("home/{bob}"))).unwrap().uid();
    assert_eq!(std::fs::metadata(docs.join("f1.bin")).unwrap().uid(), uid);
    let verified = ok(&me.call("backup/verify", json!({ "id": second["id"] })));
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn one_file_and_one_database_restore_by_themselves() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let carol = unique("carol");
    let password = sandbox.create_account(&admin, &carol, &format!("{carol}.test"));
    let me = sandbox.user(&carol, &password);
    let index = sandbox.layout_path(&format!("home/{carol}/public_html/index.html"));
    std::fs::write(&index, "original\n").unwrap();
    let (shop, blog) = (format!("{carol}_shop"), format!("{carol}_blog"));
    for db in [&shop, &blog] {
        ok(&me.call("database/create_db", json!({ "name": db })));
        sandbox.mysql_root(&format!("CREATE TABLE {db}.t (v INT); INSERT INTO {db}.t VALUES (1)"));
    }
    let id = create_backup(&me, json!({}));

    std::fs::write(&index, "defaced\n").unwrap();
    for db in [&shop, &blog] {
        sandbox.mysql_root(&format!("DELETE FROM {db}.t; INSERT INTO {db}.t VALUES (2)"));
    }
    let beside =
        ok(&me.call("backup/restore_file", json!({ "id": id, "path": "/public_html/index.html" })));
    let restored =
        sandbox.layout_path(&format!("home/{carol}{}", beside["restored"].as_str().unwrap()));
    assert_eq!(std::fs::read_to_string(&restored).unwrap(), "original\n");
    assert_eq!(std::fs::read_to_string(&index).unwrap(), "defaced\n");

    // Restoring in place is refused unless asked.
    let refused = me.call("backup/restore_db", json!({ "id": id, "name": shop, "replace": false }));
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert_eq!(refused.body["restored"], format!("{shop}_restored"));
    ok(&me.call("backup/restore_db", json!({ "id": id, "name": shop, "replace": true })));
    assert_eq!(sandbox.mysql_root(&format!("SELECT v FROM {shop}.t")), "1\n");
    assert_eq!(sandbox.mysql_root(&format!("SELECT v FROM {blog}.t")), "2\n");
    let again = me.call("backup/restore_db", json!({ "id": id, "name": shop }));
    assert_eq!(again.status, 409, "{}", again.body);
    // A bad id or another account's database is refused and changes nothing.
    let digest = sandbox.tree_digest();
    let bad = me.call("backup/restore_db", json!({ "id": "../../x", "name": shop }));
    assert_eq!(bad.status, 400, "{}", bad.body);
    let other = me.call("backup/restore_db", json!({ "id": id, "name": "zzother_shop" }));
    assert_eq!(other.status, 404, "{}", other.body);
    assert_eq!(sandbox.tree_digest(), digest);
}

/// A tar with `..`, an absolute hardlink and a symlink leading out, then a file
/// written "through" it.
fn crafted_archive(dir: &Path, victim: &str) -> std::path::PathBuf {
    let script = format!(
        r#"
import io, tarfile
t = tarfile.open("{dir}/crafted.tar", "w", format=tarfile.GNU_FORMAT)
def add(name, data=b"x", kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link
    i.size = len(data) if kind == tarfile.REGTYPE else 0; i.mode = 0o644
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
add("home/", kind=tarfile.DIRTYPE)
add("home/../../../../../../{victim}-dotdot")
add("/{victim}-absolute")
add("home/out", kind=tarfile.SYMTYPE, link="/tmp")
add("home/out/{name}-through-link")
add("home/hard", kind=tarfile.LNKTYPE, link="/etc/passwd")
add("home/fine.txt", b"harmless")
t.close()
"#,
        dir = dir.display(),
        victim = victim,
        name = Path::new(victim).file_name().unwrap().to_str().unwrap(),
    );
    run("python3", &["-c", &script]);
    let tar = dir.join("crafted.tar");
    run("zstd", &["-q", "-f", tar.to_str().unwrap()]);
    dir.join("crafted.tar.zst")
}

#[test]
fn a_crafted_archive_writes_nothing_outside_the_home() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let dave = unique("dave");
    let password = sandbox.create_account(&admin, &dave, &format!("{dave}.test"));
    let me = sandbox.user(&dave, &password);
    let id = create_backup(&me, json!({}));

    // The archive is swapped for a crafted one (as if brought from elsewhere).
    let victim = format!("/tmp/{dave}");
    let crafted = crafted_archive(&sandbox.layout_path("."), &victim);
    let archive = sandbox.layout_path(&format!("backup/{dave}/{id}.tar.zst"));
    std::fs::copy(&crafted, &archive).unwrap();

    let reply = me.call("backup/restore_file", json!({ "id": id, "path": "/", "replace": true }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let skipped = reply.body["skipped"].to_string();
    assert!(skipped.contains("outside") || skipped.contains("absolute"), "{skipped}");
    for leaked in [
        format!("{victim}-dotdot"),
        format!("{victim}-absolute"),
        format!("/tmp/{dave}-through-link"),
    ] {
        assert!(!Path::new(&leaked).exists(), "{leaked} was written");
    }
    let home = sandbox.layout_path(&format!("home/{dave}"));
    assert_eq!(std::fs::read_to_string(home.join("fine.txt")).unwrap(), "harmless");
    assert!(!home.join("hard").exists());
    // The symlink is restored as a symlink; nothing was written through it.
    assert_eq!(std::fs::read_link(home.join("out")).unwrap(), Path::new("/tmp"));
}

#[test]
fn files_deleted_while_the_backup_runs_do_not_fail_it() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let erin = unique("erin");
    sandbox.create_account(&admin, &erin, &format!("{erin}.test"));
    let many = sandbox.layout_path(&format!("home/{erin}/many"));
    std::fs::create_dir(&many).unwrap();
    for i in 0..3000 {
        std::fs::write(many.join(format!("{i:05}")), vec![b'x'; 2048]).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deleter = {
        let (many, stop) = (many.clone(), stop.clone());
        std::thread::spawn(move || {
            for i in (0..3000).rev() {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let _ = std::fs::remove_file(many.join(format!("{i:05}")));
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let reply = admin.call("backup/create", json!({ "username": erin }));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    deleter.join().unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    let verified = ok(&admin.call("backup/verify", json!({ "username": erin, "id": id })));
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn tenants_see_and_restore_only_their_own_backups() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let reseller = unique("res");
    ok(&admin.call(
        "account/create",
        json!({ "username": reseller, "domain": format!("{reseller}.test"),
                "password": "Reseller-Pass-1", "reseller": true }),
    ));
    let mut res = Client::new(&sandbox.info.admin_url);
    res.login(&reseller, "Reseller-Pass-1");
    let cus = unique("cus");
    ok(&res.call(
        "account/create",
        json!({ "username": cus, "domain": format!("{cus}.test"), "password": "Customer-Pass-2" }),
    ));
    let other = unique("oth");
    let other_pw = sandbox.create_account(&admin, &other, &format!("{other}.test"));
    let cus_backup = create_backup(&res, json!({ "username": cus }));
    let other_backup = create_backup(&admin, json!({ "username": other }));

    let ids = |c: &Client, query: &str| -> Vec<String> {
        let list = ok(&c.get("backup/list", query));
        list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().into())
            .collect()
    };
    let all = ids(&admin, "");
    assert!(all.contains(&cus_backup) && all.contains(&other_backup), "{all:?}");
    assert_eq!(ids(&res, ""), vec![cus_backup.clone()]);
    let me = sandbox.user(&other, &other_pw);
    assert_eq!(ids(&me, ""), vec![other_backup.clone()]);

    // Others' backups look missing; a user cannot name another account.
    let r = res.call("backup/verify", json!({ "username": other, "id": other_backup }));
    assert_eq!(r.status, 404, "{}", r.body);
    let r = me.call("backup/restore_file", json!({ "id": cus_backup, "path": "/public_html" }));
    assert_eq!(r.status, 404, "{}", r.body);
    let r = me.call("backup/list", json!({ "username": cus }));
    assert_eq!(r.status, 403, "{}", r.body);
    // A whole-account restore is for staff; destinations for the admin.
    let r = me.call("backup/restore", json!({ "id": other_backup }));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = res.call("backup/list_destinations", json!({}));
    assert!(r.status == 403 || r.status == 404, "{}", r.body);
    // The reseller restores its customer after termination.
    ok(&res.call("account/terminate", json!({ "username": cus })));
    ok(&res.call("backup/restore", json!({ "username": cus, "id": cus_backup })));
    let shown = ok(&res.call("account/show", json!({ "username": cus })));
    assert_eq!(shown["owner"], reseller.as_str());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when the test ends.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}

/// A private sshd on loopback with its own host key, accepting one key for root.
fn start_sshd(dir: &Path) -> (Daemon, u16, String) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let d = dir.display();
    run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-f", &format!("{d}/host_key")]);
    run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-f", &format!("{d}/client_key")]);
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
         AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\n\
         PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nUsePAM no\nSubsystem sftp internal-sftp\n"
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f", &format!("{d}/sshd_config")])
        .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .unwrap();
    wait_port(port);
    let key = std::fs::read_to_string(dir.join("client_key")).unwrap();
    (Daemon(child), port, key)
}

/// moto's S3 server (installed by scripts/install-deps) on loopback.
fn start_s3(dir: &Path) -> (Daemon, u16) {
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let child = Command::new("/opt/hs-moto/bin/moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::fs::File::create(dir.join("moto.log")).unwrap())
        .stderr(std::fs::File::create(dir.join("moto.err")).unwrap())
        .spawn()
        .unwrap();
    wait_port(port);
    run("curl", &["-s", "-f", "-X", "PUT", &format!("http://127.0.0.1:{port}/hs-backups")]);
    (Daemon(child), port)
}

#[test]
fn remote_round_trips_through_sftp_and_s3() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let work = sandbox.layout_path("remote-test");
    let (_sshd, ssh_port, key) = start_sshd(&work.join("ssh"));
    let (_s3, s3_port) = start_s3(&work.join("s3"));
    let remote = work.join("sftp-store");
    std::fs::create_dir_all(&remote).unwrap();

    ok(&admin.call(
        "backup/add_destination",
        json!({ "type": "sftp", "name": "offsite", "host": "127.0.0.1", "port": ssh_port,
                "login": "root", "path": remote.to_str().unwrap(), "private_key": key }),
    ));
    let secret = "s3cr3t-Key-That-Must-Not-Leak";
    ok(&admin.call(
        "backup/add_destination",
        json!({ "type": "s3", "name": "bucket", "endpoint": format!("http://127.0.0.1:{s3_port}"),
                "bucket": "hs-backups", "prefix": "panel", "access_key": "AKIDTEST",
                "secret_key": secret }),
    ));
    let listed = ok(&admin.get("backup/list_destinations", ""));
    assert_eq!(listed["destinations"].as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains(secret) && !listed.to_string().contains("PRIVATE"));
    use std::os::unix::fs::PermissionsExt;
    let state = sandbox.layout_path("var/hspanel/backup/destinations");
    for f in std::fs::read_dir(&state).unwrap().flatten() {
        let mode = f.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.path().display());
    }

    for dest in ["offsite", "bucket"] {
        let frank = unique("frank");
        let domain = format!("{frank}.test");
        sandbox.create_account(&admin, &frank, &domain);
        let page = sandbox.layout_path(&format!("home/{frank}/public_html/index.html"));
        std::fs::write(&page, format!("remote copy via {dest}\n")).unwrap();
        let made = ok(&admin.call(
            "backup/create",
            json!({ "username": frank, "incremental": true, "destination": dest }),
        ));
        assert_eq!(made["destination"], dest);
        if dest == "offsite" {
            // restic's encrypted repository is on the SFTP server.
            assert!(remote.join(&frank).join("config").is_file());
            let data = output("grep", &["-r", "-l", "remote copy via", remote.to_str().unwrap()]);
            assert!(data.is_empty(), "plain text on the remote: {data}");
        }
        let id = made["id"].as_str().unwrap();
        ok(&admin.call("account/terminate", json!({ "username": frank })));
        ok(&admin.call("backup/restore", json!({ "username": frank, "id": id })));
        assert_eq!(sandbox.web(&domain, "/").2, format!("remote copy via {dest}\n"));
        let verified = ok(&admin.call("backup/verify", json!({ "username": frank, "id": id })));
        assert_eq!(verified["ok"], true, "{verified}");
        // The destination's key goes with it: not while a backup is kept there.
        let forget = json!({ "name": dest });
        let r = admin.call("backup/delete_destination", forget.clone());
        assert_eq!(r.status, 409, "{}", r.body);
        ok(&admin.call("backup/delete", json!({ "username": frank, "id": id })));
        ok(&admin.call("backup/delete_destination", forget));
    }
    // The secret never reached the panel's logs.
    let logs =
        output("grep", &["-r", "-l", secret, sandbox.layout_path("var/log").to_str().unwrap()]);
    assert!(logs.is_empty(), "{logs}");
}

#[test]
fn schedules_are_validated_and_retention_keeps_the_newest() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let gina = unique("gina");
    let password = sandbox.create_account(&admin, &gina, &format!("{gina}.test"));
    let me = sandbox.user(&gina, &password);

    let digest = sandbox.tree_digest();
    let r = me.call("backup/schedule", json!({ "frequency": "daily", "keep": 100 }));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = me.call("backup/schedule", json!({ "frequency": "hourly", "keep": 2 }));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = me.call("backup/schedule", json!({ "frequency": "daily", "server": true, "keep": 2 }));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = me.call("backup/schedule", json!({ "frequency": "daily", "keep": 0 }));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(sandbox.tree_digest(), digest);

    ok(&admin.call("backup/schedule", json!({ "server": true, "frequency": "weekly", "keep": 5 })));
    let set =
        ok(&me.call("backup/schedule", json!({ "frequency": "daily", "keep": 2, "verify": true })));
    assert_eq!(set["schedule"]["keep"], 2);
    for _ in 0..3 {
        let out = sandbox.cli(&["--json", "backup", "run-scheduled", &gina], None);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let done: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(done["verified"]["ok"], true, "{done}");
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let list = ok(&me.get("backup/list", ""));
    assert_eq!(list["backups"].as_array().unwrap().len(), 2, "{list}");
}

#[test]
fn backups_run_as_hs_taskd_jobs_in_the_background_and_on_schedule() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let hana = unique("hana");
    let password = sandbox.create_account(&admin, &hana, &format!("{hana}.test"));
    let me = sandbox.user(&hana, &password);
    let other = unique("ivo");
    let other_pass = sandbox.create_account(&admin, &other, &format!("{other}.test"));
    let ivo = sandbox.user(&other, &other_pass);

    // Asked for in the background: the answer is the job, the backup follows.
    let job = ok(&me.call("backup/create", json!({ "background": true })));
    assert_eq!(job["kind"], "backup");
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(ivo.get("task/status", &format!("id={id}")).status, 404);
    let done = me.wait_job(&id);
    assert_eq!(done["state"], "succeeded", "{done}");
    let made = done["output"]["id"].as_str().unwrap().to_string();
    let list = ok(&me.get("backup/list", ""));
    assert_eq!(list["backups"][0]["id"], made.as_str(), "{list}");

    // Server-wide work is the administrator's, with checked parameters.
    let r = me.call("task/submit", json!({ "kind": "backup_due" }));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = admin.call("task/submit", json!({ "kind": "ssl_renew_due", "within_days": 0 }));
    assert_eq!(r.status, 400, "{}", r.body);

    // A daily schedule: the hourly look queues hana's run, which backs her up
    // and keeps one; a second look finds nothing due.
    ok(&me.call("backup/schedule", json!({ "frequency": "daily", "keep": 1 })));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let due = |expect_hana: bool| {
        let job = ok(&admin.call("task/submit", json!({ "kind": "backup_due" })));
        let done = admin.wait_job(job["id"].as_str().unwrap());
        assert_eq!(done["state"], "succeeded", "{done}");
        let queued = done["output"]["queued"].as_array().unwrap().clone();
        let mine: Vec<&Value> = queued.iter().filter(|q| q["user"] == hana.as_str()).collect();
        assert_eq!(mine.len(), usize::from(expect_hana), "{done}");
        mine.first().map(|q| q["job"].as_str().unwrap().to_string())
    };
    // Her last full backup is seconds old: a daily schedule is not due yet.
    assert_eq!(due(false), None);
    let index = sandbox.layout_path(&format!("backup/{hana}/{made}.json"));
    let mut text: Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    text["created"] = json!("2026-01-01T00:00:00Z");
    std::fs::write(&index, text.to_string()).unwrap();
    let run = due(true).unwrap();
    let done = me.wait_job(&run);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "backup_scheduled");
    let list = ok(&me.get("backup/list", ""));
    let ids: Vec<&str> =
        list["backups"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "retention keeps one: {list}");
    assert_ne!(ids[0], made, "the old backup is the one removed");
    assert_eq!(due(false), None);
}

#[test]
fn the_backups_page_follows_a_backup_live_and_lists_it() {
    use hs_testkit::browser::{Browser, screenshot_dir};
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let june = unique("june");
    let password = sandbox.create_account(&admin, &june, &format!("{june}.test"));
    make_site(&sandbox, &june);

    let browser = Browser::start();
    browser.log_in(&sandbox.info.user_url, &june, &password);

    browser.click("nav a[data-page=backups]");
    browser.find("form[data-form=create-backup]");
    browser.click("form[data-form=create-backup] button[type=submit]");
    // The backup runs in hs-taskd: a progress bar, then its outcome and the list.
    browser.find(".notice.job progress");
    browser.wait_until(
        "document.querySelector('.notices').textContent.includes(' made (') \
         && document.querySelector('table.backups code.name') !== null",
        "the backup's outcome and the new backup in the list",
    );
    let id = browser.text("table.backups code.name");
    let list = ok(&sandbox.user(&june, &password).get("backup/list", ""));
    assert_eq!(list["backups"][0]["id"], id.trim(), "{list}");
    browser.screenshot(&screenshot_dir().join("user-backups.png"));
}
