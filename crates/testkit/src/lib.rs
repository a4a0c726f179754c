//! The one integration harness: boots a real sandbox (`hspanel up`, with private
//! nginx, PHP-FPM and hs-srvd on loopback) and hands each test clients for it.
//!
//! Test support panics on anything unexpected, by design: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

pub mod browser;

#[derive(Debug, Clone, Deserialize)]
pub struct SandboxInfo {
    pub admin_url: String,
    pub user_url: String,
    pub admin_user: String,
    pub admin_password: String,
    pub http_port: u16,
    pub https_port: u16,
    pub srvd_pid: u32,
    /// The private named (UDP and TCP on 127.0.0.1).
    #[serde(default)]
    pub dns_port: u16,
    /// The private MariaDB's loopback port and socket.
    #[serde(default)]
    pub mysql_port: u16,
    #[serde(default)]
    pub mysql_socket: String,
    /// The private pure-ftpd's loopback control port.
    #[serde(default)]
    pub ftp_port: u16,
    /// The private Postfix (SMTP, submission with STARTTLS, smtps) and Dovecot
    /// (IMAP, IMAPS, POP3, POP3S) loopback ports.
    #[serde(default)]
    pub smtp_port: u16,
    #[serde(default)]
    pub submission_port: u16,
    #[serde(default)]
    pub smtps_port: u16,
    #[serde(default)]
    pub imap_port: u16,
    #[serde(default)]
    pub imaps_port: u16,
    #[serde(default)]
    pub pop3_port: u16,
    #[serde(default)]
    pub pop3s_port: u16,
    /// HS::SSL: the private pebble's ACME directory, the root that signs what it
    /// issues, and its pid (a test stops it to play a CA that does not answer).
    #[serde(default)]
    pub acme_directory: String,
    #[serde(default)]
    pub acme_ca_file: String,
    #[serde(default)]
    pub pebble_pid: u32,
}

/// A running sandbox. Dropping it terminates every account it created (they are
/// real Linux users), stops the services and removes the folder.
pub struct Sandbox {
    pub root: PathBuf,
    pub info: SandboxInfo,
    up: Child,
}

/// Where cargo put the binaries: beside the test executable's folder.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap().to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(path.exists(), "{} is not built; run `cargo build --bins` first", path.display());
    path
}

/// A name no other test (or earlier run) uses: `prefix` and five hex digits.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let mix = (nanos ^ (std::process::id() << 12) ^ (n.wrapping_mul(0x9e37))) & 0xfffff;
    format!("{prefix}{mix:05x}")
}

impl Sandbox {
    pub fn start() -> Sandbox {
        let root = PathBuf::from(format!("/tmp/{}", unique("hst")));
        std::fs::create_dir_all(&root).unwrap();
        let log = std::fs::File::create(format!("{}.up.log", root.display())).unwrap();
        let up = Command::new(binary("hspanel"))
            .arg("up")
            .arg("--sandbox")
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut sandbox = Sandbox { info: wait_for_info(&root), root, up };
        sandbox.wait_srvd();
        sandbox
    }

    /// Stops the sandbox, lets `edit` change `hspanel.yaml`, and starts it again
    /// on the same folder (its state is kept).
    pub fn restart_with_config(&mut self, edit: impl FnOnce(&mut String)) {
        self.stop_up();
        let path = self.root.join("etc/hspanel/hspanel.yaml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        edit(&mut text);
        std::fs::write(&path, text).unwrap();
        let old_pid = self.info.srvd_pid;
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(format!("{}.up.log", self.root.display()))
            .unwrap();
        self.up = Command::new(binary("hspanel"))
            .arg("up")
            .arg("--sandbox")
            .arg(&self.root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        // `sandbox.json` is rewritten once the new hs-srvd answers.
        let deadline = Instant::now() + Duration::from_secs(120);
        while read_info(&self.root).is_none_or(|info| info.srvd_pid == old_pid) {
            assert!(Instant::now() < deadline, "the sandbox did not come back");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.wait_srvd();
    }

    fn stop_up(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.up.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.up.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.up.kill();
        let _ = self.up.wait();
    }

    pub fn layout_path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Re-reads `sandbox.json` (hs-srvd's pid changes when it is restarted).
    pub fn reload_info(&mut self) {
        self.info = read_info(&self.root).unwrap();
    }

    /// Waits until hs-srvd answers on both ports.
    pub fn wait_srvd(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(info) = read_info(&self.root) {
                self.info = info;
                let admin = Client::new(&self.info.admin_url);
                if admin.get_raw("/api/openapi.json").0 == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "hs-srvd did not come back");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn admin(&self) -> Client {
        let mut client = Client::new(&self.info.admin_url);
        client.login(&self.info.admin_user, &self.info.admin_password);
        client
    }

    pub fn user(&self, name: &str, password: &str) -> Client {
        let mut client = Client::new(&self.info.user_url);
        client.login(name, password);
        client
    }

    /// `GET http://127.0.0.1:{http_port}{path}` with `Host: host`, through curl.
    /// Returns the status, the `Location` header (if any) and the body.
    pub fn web(&self, host: &str, path: &str) -> (u16, String, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.info.http_port);
        let out = Command::new("curl")
            .args(["-s", "-m", "10", "-H", &format!("Host: {host}")])
            .args(["-w", "\n%{http_code} %{redirect_url}", &url])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
        let (code, location) = tail.split_once(' ').unwrap_or((tail, ""));
        (code.parse().unwrap_or(0), location.to_string(), body.to_string())
    }

    /// Runs the CLI against this sandbox.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut child = Command::new(binary("hspanel"))
            .arg("--sandbox")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        // The CLI may refuse its arguments and exit before reading stdin.
        let _ = pipe.write_all(stdin.unwrap_or("").as_bytes());
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    /// `dig @127.0.0.1 -p {dns_port} name type`: the answer records, each one
    /// line with single spaces.
    pub fn dig(&self, name: &str, rtype: &str) -> Vec<String> {
        self.dig_with(&["+answer"], name, rtype)
    }

    /// Like [`Sandbox::dig`], also with the authority and additional sections
    /// (a delegation answers with a referral).
    pub fn dig_all(&self, name: &str, rtype: &str) -> Vec<String> {
        self.dig_with(&["+answer", "+authority", "+additional"], name, rtype)
    }

    fn dig_with(&self, sections: &[&str], name: &str, rtype: &str) -> Vec<String> {
        let out = Command::new("dig")
            .args(["+norec", "+noall", "+time=5"])
            .args(sections)
            .args(["-p", &self.info.dns_port.to_string(), "@127.0.0.1", name, rtype])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dig {name} {rtype}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// The SOA serial named answers for `zone`.
    pub fn soa_serial(&self, zone: &str) -> u32 {
        let soa = self.dig(zone, "SOA");
        let line = soa.iter().find(|l| l.contains(" SOA ")).expect("no SOA answer");
        line.split(' ').nth(6).unwrap().parse().unwrap()
    }

    /// named's log, to see what it reloaded.
    pub fn named_log(&self) -> String {
        std::fs::read_to_string(self.root.join("var/log/named/named.log")).unwrap_or_default()
    }

    /// `crontab -l -u user` as the sandbox's private cron sees it (run inside
    /// its mount namespace); `None` when the user has no crontab.
    pub fn crontab(&self, user: &str) -> Option<String> {
        let pid_file = self.root.join("run/hspanel/cron.pid");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let out = Command::new("nsenter")
            .args(["-t", pid.trim(), "-m", "crontab", "-l", "-u", user])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && stderr.contains("no crontab for") {
            return None;
        }
        assert!(out.status.success(), "crontab -l -u {user}: {stderr}");
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The job lines of `user`'s crontab: neither comments nor `NAME=value`.
    pub fn cron_entries(&self, user: &str) -> Vec<String> {
        let text = self.crontab(user).unwrap_or_default();
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|l| !l.split_whitespace().next().unwrap_or("").contains('='))
            .map(str::to_string)
            .collect()
    }

    /// Runs `sql` with the real `mariadb` client as database user `user`, over TCP
    /// to 127.0.0.1. The password travels in `MYSQL_PWD`, never in argv.
    pub fn mysql_as(&self, user: &str, password: &str, db: &str, sql: &str) -> Output {
        let port = self.info.mysql_port.to_string();
        let mut command = Command::new("mariadb");
        command
            .args(["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", &port])
            .args(["-u", user, "-N", "-B", "-e", sql])
            .env("MYSQL_PWD", password)
            .stdin(Stdio::null());
        if !db.is_empty() {
            command.arg(db);
        }
        command.output().unwrap()
    }

    /// Runs `sql` as MariaDB's root through the socket and returns its output
    /// (tab-separated, no headers). Panics if MariaDB refuses it.
    pub fn mysql_root(&self, sql: &str) -> String {
        let out = Command::new("mariadb")
            .arg(format!("--defaults-file={}", self.root.join("etc/mysql/hspanel.cnf").display()))
            .args(["-N", "-B", "-e", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// How many times nginx has been told to reload so far.
    pub fn nginx_reloads(&self) -> usize {
        let log = std::fs::read_to_string(self.root.join("var/log/nginx/error.log")).unwrap();
        log.lines().filter(|l| l.contains("signal 1 (SIGHUP) received")).count()
    }

    /// A digest of every regular file under the root (path, mode, owner, content),
    /// to prove that a refused request changed nothing. Logs are left out: they
    /// record requests, not state.
    pub fn tree_digest(&self) -> BTreeMap<PathBuf, String> {
        let mut digest = BTreeMap::new();
        walk(&self.root, &self.root, &mut digest);
        digest
    }

    /// Creates an account through the admin API and returns its password.
    pub fn create_account(&self, admin: &Client, user: &str, domain: &str) -> String {
        let password = "Site-Pass-2026!".to_string();
        let reply = admin.call(
            "account/create",
            json!({ "username": user, "domain": domain, "password": password }),
        );
        assert_eq!(reply.status, 200, "create {user}: {}", reply.body);
        password
    }
}

fn walk(root: &Path, dir: &Path, digest: &mut BTreeMap<PathBuf, String>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        // MariaDB's data files change on their own (background flushes); its state is
        // compared through SQL instead (`mysql_root`).
        if rel.starts_with("var/log")
            || rel.starts_with("usr/local/hspanel/logs")
            || rel.starts_with("var/lib/mysql")
        {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            digest.insert(rel, format!("dir {:o} {}", meta.mode(), meta.uid()));
            walk(root, &path, digest);
        } else if meta.is_file() {
            let content = std::fs::read(&path).unwrap_or_default();
            let summary =
                format!("{:o} {} {} {:x}", meta.mode(), meta.uid(), content.len(), fnv(&content));
            digest.insert(rel, summary);
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}

fn read_info(root: &Path) -> Option<SandboxInfo> {
    let text = std::fs::read_to_string(root.join("sandbox.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn wait_for_info(root: &Path) -> SandboxInfo {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(info) = read_info(root) {
            return info;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(format!("{}.up.log", root.display()));
            panic!("the sandbox did not come up: {}", log.unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Accounts are real Linux users: remove them whatever the test's outcome.
        let out = self.cli(&["--json", "account", "list"], None);
        if let Ok(list) = serde_json::from_slice::<Value>(&out.stdout) {
            let mut accounts: Vec<(String, String)> = list["accounts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["username"].as_str().unwrap_or("").to_string(),
                        a["role"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            // Resellers last: they cannot go while they own accounts.
            accounts.sort_by_key(|(_, role)| role == "reseller");
            for (name, _) in accounts {
                self.cli(&["account", "terminate", &name], None);
            }
        }
        self.stop_up();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
            let _ = std::fs::remove_file(format!("{}.up.log", self.root.display()));
        }
    }
}

/// An API client for one port, optionally logged in.
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    agent: ureq::Agent,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub op_id: Option<String>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Client {
    /// Polls `task/status` until hs-taskd has finished the job (two minutes at
    /// most); its last status.
    pub fn wait_job(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let st = self.get("task/status", &format!("id={id}"));
            assert_eq!(st.status, 200, "{}", st.body);
            let state = st.body["state"].as_str().unwrap_or_default();
            if ["succeeded", "failed", "cancelled"].contains(&state) {
                return st.body;
            }
            assert!(Instant::now() < deadline, "job {id} did not finish: {}", st.body);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn new(base: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        Client { base: base.to_string(), token: None, agent: ureq::Agent::new_with_config(config) }
    }

    pub fn with_token(&self, token: &str) -> Client {
        let mut client = Client::new(&self.base);
        client.token = Some(token.to_string());
        client
    }

    pub fn login(&mut self, user: &str, password: &str) {
        let reply = self.call("auth/login", json!({ "username": user, "password": password }));
        assert_eq!(reply.status, 200, "login {user}: {}", reply.body);
        self.token = Some(reply.body["token"].as_str().unwrap().to_string());
    }

    /// `POST /api/{action}` with a JSON body.
    pub fn call(&self, action: &str, body: Value) -> Reply {
        self.post_raw(action, "application/json", body.to_string().into_bytes())
    }

    pub fn post_raw(&self, action: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let mut request = self
            .agent
            .post(format!("{}/api/{action}", self.base))
            .header("Content-Type", content_type);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        reply(request.send(&body[..]))
    }

    /// `POST /api/{action}` with exactly the given extra headers (no bearer token):
    /// what a browser sends with a cookie.
    pub fn post_with_headers(&self, action: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = self
            .agent
            .post(format!("{}/api/{action}", self.base))
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send(body.to_string().as_bytes()))
    }

    /// `GET /api/{action}?{query}`.
    pub fn get(&self, action: &str, query: &str) -> Reply {
        let mut request = self.agent.get(format!("{}/api/{action}?{query}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        reply(request.call())
    }

    /// `GET /api/{action}?{query}` read as it arrives (server-sent events): the
    /// status, the `Content-Type`, and the body's reader.
    pub fn stream(
        &self,
        action: &str,
        query: &str,
    ) -> (u16, String, Box<dyn std::io::BufRead + Send>) {
        let mut request = self.agent.get(format!("{}/api/{action}?{query}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.call().unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let reader = response.into_body().into_reader();
        (status, kind, Box::new(std::io::BufReader::new(reader)))
    }

    pub fn get_raw(&self, path: &str) -> (u16, String) {
        match self.agent.get(format!("{}{path}", self.base)).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let op_id = response
                .headers()
                .get("x-operation-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Reply { status, body, op_id }
        }
        Err(e) => Reply { status: 0, body: Value::String(e.to_string()), op_id: None },
    }
}
