//! HS::FTP: an FTP user logs in to the sandbox's real pure-ftpd, acts as the
//! account's Linux user, stays inside its folder, and is refused with a wrong
//! password, while the account is suspended, and after termination; another
//! account cannot touch it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

use hs_testkit::{Sandbox, unique};
use serde_json::{Value, json};

fn ok(reply: hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// curl against the private pure-ftpd, the credentials in a netrc file.
fn curl(sandbox: &Sandbox, login: &str, password: &str, args: &[&str], path: &str) -> Output {
    let netrc = sandbox.root.join(format!("netrc-{login}"));
    std::fs::write(&netrc, format!("machine 127.0.0.1 login {login} password {password}\n"))
        .unwrap();
    let url = format!("ftp://127.0.0.1:{}{path}", sandbox.info.ftp_port);
    Command::new("curl")
        .args(["-sS", "--max-time", "20", "--netrc-file"])
        .arg(&netrc)
        .args(args)
        .arg(url)
        .output()
        .unwrap()
}

fn listing(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ftp_user_uploads_as_the_account_inside_its_folder() {
    let sandbox = Sandbox::start();
    assert_ne!(sandbox.info.ftp_port, 0, "sandbox.json has no ftp_port");
    let admin = sandbox.admin();
    let alice = unique("ftpa");
    let bob = unique("ftpb");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);

    let login = format!("{alice}_web");
    let ftp_pass = "Ftp-Secret-4711";
    let made = ok(me.call(
        "ftp/create",
        json!({ "login": login, "folder": "public_html/up", "password": ftp_pass }),
    ));
    assert_eq!(made["folder"], "/public_html/up");
    let listed = ok(me.call("ftp/list", json!({})));
    assert_eq!(listed["users"][0]["login"], login.as_str());
    assert!(listed.to_string().find("$6$").is_none(), "the hash must not be shown");

    // Upload, then list; the file is alice's on disk, inside the folder.
    let file = sandbox.root.join("upload.txt");
    std::fs::write(&file, "hello over ftp\n").unwrap();
    let up = curl(&sandbox, &login, ftp_pass, &["-T", file.to_str().unwrap()], "/");
    assert!(up.status.success(), "upload: {}", String::from_utf8_lossy(&up.stderr));
    assert!(listing(&curl(&sandbox, &login, ftp_pass, &["-l"], "/")).contains("upload.txt"));
    let on_disk = sandbox.layout_path(&format!("home/{alice}/public_html/up/upload.txt"));
    let home = std::fs::metadata(sandbox.layout_path(&format!("home/{alice}"))).unwrap();
    let meta = std::fs::metadata(&on_disk).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (home.uid(), home.gid()));
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "hello over ftp\n");

    // `..` does not leave the folder: the chroot shows the same root.
    let root = listing(&curl(&sandbox, &login, ftp_pass, &["-l"], "/"));
    let above = listing(&curl(&sandbox, &login, ftp_pass, &["-l"], "/../../"));
    assert_eq!(root, above);
    assert!(!above.contains("public_html"), "{above}");

    // A wrong password is refused.
    let wrong = curl(&sandbox, &login, "not-the-password", &["-l"], "/");
    assert!(!wrong.status.success());

    // Bad input changes nothing; another account's login is not alice's to use.
    let before = sandbox.tree_digest();
    let bad = me.call("ftp/create", json!({ "login": "x", "password": ftp_pass }));
    assert_eq!(bad.status, 400, "{}", bad.body);
    let foreign =
        me.call("ftp/create", json!({ "login": format!("{bob}_web"), "password": ftp_pass }));
    assert_eq!(foreign.status / 100, 4, "{}", foreign.body);
    let up_dir = me.call(
        "ftp/create",
        json!({ "login": format!("{alice}_x"), "folder": "../x", "password": ftp_pass }),
    );
    assert_eq!(up_dir.status, 400, "{}", up_dir.body);
    assert_eq!(before, sandbox.tree_digest());

    // Bob's FTP user cannot be deleted (or even seen) by alice.
    let bobs = format!("{bob}_site");
    ok(admin.call("ftp/create", json!({ "username": bob, "login": bobs, "password": ftp_pass })));
    let refused = me.call("ftp/delete", json!({ "login": bobs }));
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert!(listing(&curl(&sandbox, &bobs, ftp_pass, &["-l"], "/")).contains("public_html"));

    // A new password works, the old one no longer does.
    let new_pass = "Ftp-Other-0815";
    ok(me.call("ftp/change_password", json!({ "login": login, "password": new_pass })));
    assert!(!curl(&sandbox, &login, ftp_pass, &["-l"], "/").status.success());
    assert!(listing(&curl(&sandbox, &login, new_pass, &["-l"], "/")).contains("upload.txt"));

    // Suspension refuses the login; unsuspending restores it from the state.
    ok(admin.call("account/suspend", json!({ "username": alice, "reason": "test" })));
    assert!(!curl(&sandbox, &login, new_pass, &["-l"], "/").status.success());
    ok(admin.call("account/unsuspend", json!({ "username": alice })));
    assert!(listing(&curl(&sandbox, &login, new_pass, &["-l"], "/")).contains("upload.txt"));

    // Termination removes the FTP user.
    ok(admin.call("account/terminate", json!({ "username": alice })));
    assert!(!curl(&sandbox, &login, new_pass, &["-l"], "/").status.success());
    let passwd =
        std::fs::read_to_string(sandbox.layout_path("etc/pure-ftpd/pureftpd.passwd")).unwrap();
    assert!(!passwd.contains(&login), "{passwd}");
    assert!(passwd.contains(&bobs), "{passwd}");
    assert!(!Path::new(&on_disk).exists());
}
