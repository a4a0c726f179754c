//! HS::FileManager: every operation through the API lands in alice's home as
//! alice's uid; `..`, absolute paths, symlinks out of the home (to
//! `/etc/shadow`, to bob's home), root's files in her home and setuid bits are
//! refused without changing a file; an upload past the quota leaves nothing;
//! a 200 MiB (or `HS_FILEMAN_BIG_MIB`) upload and download keep hs-srvd's
//! memory flat.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use hs_testkit::{Client, Sandbox, unique};
use serde_json::{Value, json};

fn ok(reply: hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn uid_of(user: &str) -> u32 {
    nix::unistd::User::from_name(user).unwrap().unwrap().uid.as_raw()
}

/// `curl` with the client's token; returns the status and the body (or the
/// file written with `-o`).
fn curl(client: &Client, args: &[&str]) -> (u16, String) {
    let token = client.token.clone().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn upload(
    client: &Client,
    folder: &str,
    local: &Path,
    name: &str,
    extra: &[&str],
) -> (u16, String) {
    let url = format!("{}/api/fileman/upload", client.base);
    let file = format!("file=@{};filename={name}", local.display());
    let path = format!("path={folder}");
    let mut args = vec!["-F", &path];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-F", &file, &url]);
    curl(client, &args)
}

fn download(client: &Client, path: &str, range: Option<&str>) -> (u16, String) {
    let url = format!("{}/api/fileman/download?path={path}", client.base);
    let range = range.map(|r| format!("Range: bytes={r}"));
    let mut args: Vec<&str> = Vec::new();
    if let Some(r) = &range {
        args.extend(["-H", r]);
    }
    args.push(&url);
    curl(client, &args)
}

fn temp_file(name: &str, content: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", unique("fm")));
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn files_are_managed_as_the_account_user_within_its_home() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("fma");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let me = sandbox.user(&alice, &password);
    let home = sandbox.layout_path(&format!("home/{alice}"));
    let uid = uid_of(&alice);

    // Upload, then the file is alice's, with her content.
    let local = temp_file("hello.txt", b"hello world\n");
    let (status, body) = upload(&me, "/", &local, "hello.txt", &[]);
    assert_eq!(status, 200, "{body}");
    let meta = std::fs::metadata(home.join("hello.txt")).unwrap();
    assert_eq!((meta.uid(), meta.len()), (uid, 12));
    assert_eq!(std::fs::read(home.join("hello.txt")).unwrap(), b"hello world\n");

    // mkdir and list.
    ok(me.call("fileman/mkdir", json!({ "path": "/docs" })));
    assert_eq!(std::fs::metadata(home.join("docs")).unwrap().uid(), uid);
    let listing = ok(me.get("fileman/list", "path=/"));
    let names: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"hello.txt") && names.contains(&"docs"), "{listing}");

    // Download, whole and a range.
    assert_eq!(download(&me, "/hello.txt", None), (200, "hello world\n".to_string()));
    assert_eq!(download(&me, "/hello.txt", Some("6-10")), (206, "world".to_string()));
    assert_eq!(download(&me, "/hello.txt", Some("-6")), (206, "world\n".to_string()));
    assert_eq!(download(&me, "/hello.txt", Some("50-")).0, 416);

    // chmod, then edit keeps the mode; binary content is refused.
    ok(me.call("fileman/chmod", json!({ "path": "/hello.txt", "mode": "0600" })));
    let read = ok(me.get("fileman/edit", "path=/hello.txt"));
    assert_eq!(read["content"], "hello world\n");
    ok(me.call("fileman/edit", json!({ "path": "/hello.txt", "content": "new text\n" })));
    let meta = std::fs::metadata(home.join("hello.txt")).unwrap();
    assert_eq!((meta.uid(), meta.permissions().mode() & 0o7777), (uid, 0o600));
    assert_eq!(std::fs::read_to_string(home.join("hello.txt")).unwrap(), "new text\n");
    let binary = me.call("fileman/edit", json!({ "path": "/hello.txt", "content": "a\u{0}b" }));
    assert_eq!(binary.status, 400, "{}", binary.body);
    let bin = temp_file("bin", &[0u8, 1, 2, 3]);
    assert_eq!(upload(&me, "/", &bin, "data.bin", &[]).0, 200);
    assert_eq!(me.get("fileman/edit", "path=/data.bin").status, 400);

    // chmod 4755 is refused and changes nothing.
    let setuid = me.call("fileman/chmod", json!({ "path": "/hello.txt", "mode": "4755" }));
    assert_eq!(setuid.status, 400, "{}", setuid.body);
    let mode = std::fs::metadata(home.join("hello.txt")).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o600);

    // rename, copy (recursive), delete (recursive).
    ok(me.call("fileman/rename", json!({ "from": "/hello.txt", "to": "/docs/h.txt" })));
    assert!(!home.join("hello.txt").exists());
    ok(me.call("fileman/copy", json!({ "from": "/docs", "to": "/docs2" })));
    let copied = std::fs::metadata(home.join("docs2/h.txt")).unwrap();
    assert_eq!((copied.uid(), copied.permissions().mode() & 0o777), (uid, 0o600));
    let taken = me.call("fileman/copy", json!({ "from": "/docs", "to": "/docs2" }));
    assert_eq!(taken.status, 409, "{}", taken.body);
    ok(me.call("fileman/delete", json!({ "path": "/docs2" })));
    assert!(!home.join("docs2").exists());
    assert!(home.join("docs/h.txt").exists());

    // Staff act on the account by name on the admin port.
    let listing = ok(admin.get("fileman/list", &format!("path=/docs&username={alice}")));
    assert_eq!(listing["entries"][0]["name"], "h.txt");

    // The CLI: the same operations, the same helper.
    let cli = |args: &[&str], stdin: Option<&str>| {
        let out = sandbox.cli(args, stdin);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["files", "put", &alice, "-", "/docs/cli.txt"], Some("from the cli\n"));
    assert_eq!(std::fs::metadata(home.join("docs/cli.txt")).unwrap().uid(), uid);
    assert_eq!(cli(&["files", "get", &alice, "/docs/cli.txt"], None), "from the cli\n");
    cli(&["files", "mkdir", &alice, "/c"], None);
    cli(&["files", "cp", &alice, "/docs/cli.txt", "/c/x.txt"], None);
    cli(&["files", "mv", &alice, "/c/x.txt", "/c/y.txt"], None);
    cli(&["files", "chmod", &alice, "0640", "/c/y.txt"], None);
    assert!(cli(&["files", "ls", &alice, "/c"], None).contains("0640"));
    cli(&["files", "rm", &alice, "/c"], None);
    assert!(!home.join("c").exists());
    let refused = sandbox.cli(&["files", "chmod", &alice, "4755", "/docs/cli.txt"], None);
    assert_eq!(refused.status.code(), Some(2));
    let _ = std::fs::remove_file(local);
    let _ = std::fs::remove_file(bin);
}

#[test]
fn escapes_through_paths_symlinks_and_foreign_files_change_nothing() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("fmea");
    let bob = unique("fmeb");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let bob_password = sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    let home = sandbox.layout_path(&format!("home/{alice}"));
    let bob_home = sandbox.layout_path(&format!("home/{bob}"));

    // Bob's secret, and traps in alice's home: symlinks out, a root-owned file.
    std::fs::write(bob_home.join("secret.txt"), "bob's\n").unwrap();
    std::os::unix::fs::chown(bob_home.join("secret.txt"), Some(uid_of(&bob)), None).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", home.join("shadow")).unwrap();
    std::os::unix::fs::symlink(&bob_home, home.join("bobabs")).unwrap();
    std::os::unix::fs::symlink(format!("../{bob}"), home.join("bobrel")).unwrap();
    std::fs::write(home.join("rootfile"), "root's\n").unwrap();
    std::fs::set_permissions(home.join("rootfile"), std::fs::Permissions::from_mode(0o644))
        .unwrap();
    // Alice's own symlinks too (she could make them over FTP or PHP).
    for link in ["shadow", "bobabs", "bobrel"] {
        let mine = format!("my{link}");
        let target = std::fs::read_link(home.join(link)).unwrap();
        std::os::unix::fs::symlink(target, home.join(&mine)).unwrap();
        let uid = uid_of(&alice);
        std::os::unix::fs::lchown(home.join(&mine), Some(uid), None).unwrap();
    }
    let bob_client = sandbox.user(&bob, &bob_password);
    // Other tests add users meanwhile, so the system files are compared by owner
    // and mode, and checked to still be what they were.
    let meta = |p: &str| std::fs::metadata(p).map(|m| (m.uid(), m.mode())).unwrap();
    let system_before = (meta("/etc/shadow"), meta("/etc/passwd"));
    let before = sandbox.tree_digest();

    let refused = |reply: hs_testkit::Reply, what: &str| {
        assert!((400..500).contains(&reply.status), "{what}: {} {}", reply.status, reply.body);
    };
    let bad_paths = [
        "../../etc/passwd",
        "/etc/passwd",
        "/shadow",
        "/myshadow",
        "/bobabs/secret.txt",
        "/bobrel/secret.txt",
        "/mybobabs/secret.txt",
        "/mybobrel/secret.txt",
    ];
    for path in bad_paths {
        let (status, body) = download(&me, path, None);
        assert!((400..500).contains(&status), "download {path}: {status} {body}");
        assert!(!body.contains("root:"), "{path}: {body}");
        refused(me.get("fileman/edit", &format!("path={path}")), "edit read");
        refused(me.call("fileman/edit", json!({ "path": path, "content": "x" })), path);
        refused(me.call("fileman/chmod", json!({ "path": path, "mode": "0666" })), path);
        refused(me.get("fileman/list", &format!("path={path}")), "list");
        refused(me.call("fileman/copy", json!({ "from": path, "to": "/stolen" })), path);
        // Alice's own link may itself be deleted or renamed (the link, not its
        // target); everything through it is refused.
        if path == "/myshadow" {
            continue;
        }
        refused(me.call("fileman/delete", json!({ "path": path })), path);
        refused(me.call("fileman/rename", json!({ "from": path, "to": "/moved" })), path);
    }
    for folder in ["/bobabs", "/bobrel", "/mybobabs", "/mybobrel", "../", "/../.."] {
        let local = temp_file("evil", b"evil\n");
        let (status, body) = upload(&me, folder, &local, "evil.txt", &[]);
        assert!((400..500).contains(&status), "upload into {folder}: {status} {body}");
        refused(me.call("fileman/mkdir", json!({ "path": format!("{folder}/new") })), folder);
        refused(
            me.call("fileman/copy", json!({ "from": "/rootfile", "to": format!("{folder}/c") })),
            folder,
        );
        let _ = std::fs::remove_file(local);
    }
    // Root's file in her home: not changed, chmodded, renamed or deleted.
    refused(me.call("fileman/edit", json!({ "path": "/rootfile", "content": "x" })), "edit root");
    refused(me.call("fileman/chmod", json!({ "path": "/rootfile", "mode": "0666" })), "chmod");
    refused(me.call("fileman/delete", json!({ "path": "/rootfile" })), "delete root");
    refused(me.call("fileman/rename", json!({ "from": "/rootfile", "to": "/r2" })), "rename");
    let local = temp_file("over", b"over\n");
    let (status, body) = upload(&me, "/", &local, "rootfile", &[]);
    assert!((400..500).contains(&status), "upload over rootfile: {status} {body}");
    let _ = std::fs::remove_file(local);
    // The home itself cannot be deleted or renamed.
    refused(me.call("fileman/delete", json!({ "path": "/" })), "delete home");
    refused(me.call("fileman/rename", json!({ "from": "/", "to": "/x" })), "rename home");
    // Bob's files by name: alice may not name another account on her port.
    refused(me.get("fileman/list", &format!("path=/&username={bob}")), "other account");
    assert_eq!(ok(bob_client.get("fileman/edit", "path=/secret.txt"))["content"], "bob's\n");

    assert_eq!(sandbox.tree_digest(), before);
    assert_eq!((meta("/etc/shadow"), meta("/etc/passwd")), system_before);
    assert!(std::fs::read_to_string("/etc/shadow").unwrap().starts_with("root:"));
    assert!(std::fs::read_to_string("/etc/passwd").unwrap().starts_with("root:"));
    assert_eq!(std::fs::read_to_string(home.join("rootfile")).unwrap(), "root's\n");
    for link in ["shadow", "bobabs", "bobrel", "myshadow", "mybobabs", "mybobrel"] {
        assert!(home.join(link).is_symlink(), "{link} is gone");
    }
}

#[test]
fn an_upload_past_the_quota_is_refused_and_leaves_no_file() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("fmq");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    ok(admin.call("plan/save", json!({ "name": "onemb", "limits": { "disk_mb": 1 } })));
    ok(admin.call("account/change_plan", json!({ "username": alice, "plan": "onemb" })));
    let me = sandbox.user(&alice, &password);
    let home = sandbox.layout_path(&format!("home/{alice}"));

    let small = temp_file("small", &vec![b'a'; 300 * 1024]);
    assert_eq!(upload(&me, "/", &small, "small.bin", &[]).0, 200);
    let names = |dir: &Path| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    let before = names(&home);
    let before_digest = sandbox.tree_digest();

    let big = temp_file("big", &vec![b'b'; 2 * 1024 * 1024]);
    let (status, body) = upload(&me, "/", &big, "big.bin", &[]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("quota"), "{body}");
    // Replacing the small file with the big one is refused too, and keeps it.
    let (status, body) = upload(&me, "/", &big, "small.bin", &[]);
    assert_eq!(status, 403, "{body}");
    // A copy that would pass the quota as well.
    ok(me.call("fileman/copy", json!({ "from": "/small.bin", "to": "/copy1" })));
    ok(me.call("fileman/copy", json!({ "from": "/small.bin", "to": "/copy2" })));
    let over = me.call("fileman/copy", json!({ "from": "/small.bin", "to": "/copy3" }));
    assert_eq!(over.status, 403, "{}", over.body);
    ok(me.call("fileman/delete", json!({ "path": "/copy1" })));
    ok(me.call("fileman/delete", json!({ "path": "/copy2" })));

    assert_eq!(names(&home), before);
    assert_eq!(sandbox.tree_digest(), before_digest);
    let _ = std::fs::remove_file(small);
    let _ = std::fs::remove_file(big);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn large_uploads_and_downloads_stream_with_flat_memory() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("fmm");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    let me = sandbox.user(&alice, &password);
    let home = sandbox.layout_path(&format!("home/{alice}"));
    // 200 MiB by default; `HS_FILEMAN_BIG_MIB=1024` for the 1 GiB.
    let mib: u64 =
        std::env::var("HS_FILEMAN_BIG_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let size = mib * 1024 * 1024;

    let local = std::env::temp_dir().join(format!("{}-large", unique("fm")));
    let file = std::fs::File::create(&local).unwrap();
    file.set_len(size).unwrap();
    drop(file);
    // Warm up the paths once so their one-off allocations are not counted.
    let small = temp_file("warm", b"warm");
    assert_eq!(upload(&me, "/", &small, "warm", &[]).0, 200);
    assert_eq!(download(&me, "/warm", None).0, 200);

    let pid = sandbox.info.srvd_pid;
    let before = rss_kib(pid);
    let (status, body) = upload(&me, "/", &local, "large.bin", &[]);
    assert_eq!(status, 200, "{body}");
    let after_upload = rss_kib(pid);
    assert_eq!(std::fs::metadata(home.join("large.bin")).unwrap().len(), size);

    let out = std::env::temp_dir().join(format!("{}-large-back", unique("fm")));
    let url = format!("{}/api/fileman/download?path=/large.bin", me.base);
    let (status, _) = curl(&me, &["-o", out.to_str().unwrap(), &url]);
    assert_eq!(status, 200);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), size);
    let after_download = rss_kib(pid);

    let grown = after_upload.max(after_download).saturating_sub(before);
    println!(
        "hs-srvd VmRSS: {before} KiB before, {after_upload} KiB after a {mib} MiB upload, \
         {after_download} KiB after its download: grew {grown} KiB"
    );
    assert!(grown < 50 * 1024, "hs-srvd grew by {grown} KiB");
    let _ = std::fs::remove_file(local);
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(small);
}

/// A tar entry with exactly this name and link (the tar crate's checked
/// setters refuse the hostile ones we need).
fn tar_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    let bytes = builder.into_inner().unwrap();
    // Drop the two zero blocks that end an archive; `tar_end` adds them once.
    out.extend_from_slice(&bytes[..bytes.len() - 1024]);
}

fn tar_end(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        std::io::Write::write_all(&mut writer, data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn archives_extract_inside_the_folder_and_nothing_leaks_out() {
    use std::io::Write;
    use tar::EntryType;
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("fmx");
    let bob = unique("fmxb");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    let home = sandbox.layout_path(&format!("home/{alice}"));
    let bob_home = sandbox.layout_path(&format!("home/{bob}"));
    let uid = uid_of(&alice);
    let put = |name: &str, bytes: &[u8]| {
        let local = temp_file(name, bytes);
        let (status, body) = upload(&me, "/", &local, name, &[]);
        assert_eq!(status, 200, "{body}");
        let _ = std::fs::remove_file(local);
    };
    let extract = |archive: &str, dest: &str| {
        ok(me.call("fileman/mkdir", json!({ "path": dest })));
        me.call("fileman/extract", json!({ "path": archive, "dest": dest }))
    };

    // Good archives in the three formats.
    put("good.zip", &zip_of(&[("a/b.txt", b"zip\n"), ("top.txt", b"top\n")]));
    let mut tar = Vec::new();
    tar_entry(&mut tar, "d/", EntryType::Directory, "", b"");
    tar_entry(&mut tar, "d/f.txt", EntryType::Regular, "", b"tar\n");
    let tar = tar_end(tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    put("good.tar.gz", &gz.finish().unwrap());
    put("good.tar.zst", &zstd::encode_all(&tar[..], 3).unwrap());
    for (archive, dest, file, content) in [
        ("/good.zip", "/z", "z/a/b.txt", "zip\n"),
        ("/good.tar.gz", "/g", "g/d/f.txt", "tar\n"),
        ("/good.tar.zst", "/s", "s/d/f.txt", "tar\n"),
    ] {
        let reply = ok(extract(archive, dest));
        assert_eq!(reply["skipped"], json!([]), "{reply}");
        let meta = std::fs::metadata(home.join(file)).unwrap();
        assert_eq!(meta.uid(), uid, "{file}");
        assert_eq!(std::fs::read_to_string(home.join(file)).unwrap(), content);
    }

    // Hostile entries are skipped and reported; the harmless ones land.
    let homes = home.parent().unwrap().to_path_buf();
    put("evil.zip", &zip_of(&[("../evil", b"x"), ("../../evil2", b"x"), ("ok.txt", b"ok")]));
    let reply = ok(extract("/evil.zip", "/e1"));
    assert_eq!(reply["skipped"].as_array().unwrap().len(), 2, "{reply}");
    assert!(home.join("e1/ok.txt").exists());
    assert!(!home.join("evil").exists() && !homes.join("evil2").exists());

    let outside = format!("/tmp/{}", unique("fmevil"));
    let mut t = Vec::new();
    tar_entry(&mut t, &outside, EntryType::Regular, "", b"abs\n");
    tar_entry(&mut t, "ln", EntryType::Symlink, bob_home.to_str().unwrap(), b"");
    tar_entry(&mut t, "ln/pwn.txt", EntryType::Regular, "", b"pwn\n");
    tar_entry(&mut t, "mine/pwn.txt", EntryType::Regular, "", b"pwn\n");
    tar_entry(&mut t, "hard", EntryType::Link, "/etc/passwd", b"");
    tar_entry(&mut t, "hard2", EntryType::Link, "../../../etc/shadow", b"");
    tar_entry(&mut t, "dev", EntryType::Char, "", b"");
    put("evil.tar", &tar_end(t));
    ok(me.call("fileman/mkdir", json!({ "path": "/e2" })));
    // A symlink already in the folder, to bob's home: nothing goes through it.
    std::os::unix::fs::symlink(&bob_home, home.join("e2/mine")).unwrap();
    std::os::unix::fs::lchown(home.join("e2/mine"), Some(uid), None).unwrap();
    let reply = me.call("fileman/extract", json!({ "path": "/evil.tar", "dest": "/e2" }));
    let reply = ok(reply);
    let reasons: Vec<String> = reply["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["name"], s["reason"]))
        .collect();
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    assert!(!Path::new(&outside).exists());
    assert!(!bob_home.join("pwn.txt").exists());
    assert!(!home.join("e2/hard").exists() && !home.join("e2/dev").exists());
    assert!(home.join("e2/mine").is_symlink());
    // The symlink entry was skipped, so `ln` is a plain folder of alice's.
    let ln = std::fs::symlink_metadata(home.join("e2/ln")).unwrap();
    assert!(ln.is_dir() && ln.uid() == uid);

    // Bombs: past the quota or the entry count, nothing is kept.
    ok(admin.call("plan/save", json!({ "name": "fivemb", "limits": { "disk_mb": 5 } })));
    ok(admin.call("account/change_plan", json!({ "username": alice, "plan": "fivemb" })));
    let zeros = vec![0u8; 64 * 1024 * 1024];
    put("bomb.zip", &zip_of(&[("small.txt", b"s"), ("zeros.bin", &zeros)]));
    ok(me.call("fileman/mkdir", json!({ "path": "/b" })));
    let before = sandbox.tree_digest();
    let reply = me.call("fileman/extract", json!({ "path": "/bomb.zip", "dest": "/b" }));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(sandbox.tree_digest(), before);
    assert_eq!(std::fs::read_dir(home.join("b")).unwrap().count(), 0);

    let names: Vec<String> = (0..10_001).map(|i| format!("f{i}")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    put("many.zip", &zip_of(&many));
    let before = sandbox.tree_digest();
    let reply = me.call("fileman/extract", json!({ "path": "/many.zip", "dest": "/b" }));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(sandbox.tree_digest(), before);
}

#[test]
fn a_folder_swapped_for_a_symlink_during_a_copy_leaks_nothing() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("fmr");
    let bob = unique("fmrb");
    let password = sandbox.create_account(&admin, &alice, &format!("{alice}.test"));
    sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    let home = sandbox.layout_path(&format!("home/{alice}"));
    let bob_home = sandbox.layout_path(&format!("home/{bob}"));
    std::fs::write(bob_home.join("secret.txt"), "bob's\n").unwrap();
    let uid = uid_of(&alice);

    // A tree big enough that the copy takes a while.
    let src = home.join("src");
    const DIRS: usize = 120;
    for i in 0..DIRS {
        let dir = src.join(format!("sub{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data.bin"), vec![7u8; 256 * 1024]).unwrap();
    }
    let out = Command::new("chown").args(["-R", &format!("{uid}:{uid}")]).arg(&src).output();
    assert!(out.unwrap().status.success());

    std::thread::scope(|scope| {
        let copy = scope.spawn(|| me.call("fileman/copy", json!({ "from": "/src", "to": "/dst" })));
        // Meanwhile, swap every folder for a symlink to bob's home.
        for i in (0..DIRS).rev() {
            let dir = src.join(format!("sub{i}"));
            let _ = std::fs::rename(&dir, src.join(format!(".old{i}")));
            let _ = std::os::unix::fs::symlink(&bob_home, &dir);
        }
        let reply = copy.join().unwrap();
        println!("copy during the swap: {} {}", reply.status, reply.body);
        assert!(reply.status == 200 || (400..500).contains(&reply.status), "{}", reply.body);
    });
    let leaked = Command::new("find").arg(&home).args(["-name", "secret.txt"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&leaked.stdout), "", "bob's file was copied");
    assert_eq!(std::fs::read_to_string(bob_home.join("secret.txt")).unwrap(), "bob's\n");
}
