//! hs-srvd's throughput on authenticated reads beside a bare axum JSON handler,
//! both loaded by `wrk` on this machine, and hs-srvd's resident memory idle and
//! with 10,000 accounts in its state.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hs_testkit::Sandbox;

pub fn bare_axum(port: u16) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "username": "bench" })) }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    })
}

struct Wrk {
    requests_per_sec: f64,
    p99_ms: f64,
}

fn wrk(url: &str, token: Option<&str>) -> anyhow::Result<Wrk> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", "-d5s", "--latency"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let out = cmd.arg(url).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    let requests_per_sec = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no wrk figure:\n{text}"))?;
    let p99_ms = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_latency(v.trim()))
        .unwrap_or(f64::NAN);
    Ok(Wrk { requests_per_sec, p99_ms })
}

fn parse_latency(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
    let num: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => num / 1000.0,
        "s" => num * 1000.0,
        _ => num,
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn run() -> anyhow::Result<()> {
    let mut sandbox = Sandbox::start();
    sandbox.restart_with_config(|text| {
        *text = text.replace("requests_per_second: 50", "requests_per_second: 10000000");
    });
    let admin = sandbox.admin();
    let token = admin.token.clone().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kib(sandbox.info.srvd_pid);

    let port = hs_services_free_port()?;
    let mut bare: Child = Command::new(std::env::current_exe()?)
        .args(["bare-axum", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(500));

    let ours = wrk(&format!("{}/api/auth/whoami", sandbox.info.admin_url), Some(&token))?;
    let anchor = wrk(&format!("http://127.0.0.1:{port}/"), None)?;
    let _ = bare.kill();
    let _ = bare.wait();

    synthetic_accounts(&sandbox, 10_000)?;
    let listed = admin.get("account/list", "");
    anyhow::ensure!(listed.status == 200, "list: {}", listed.body);
    let count = listed.body["accounts"].as_array().map_or(0, Vec::len);
    let loaded = rss_kib(sandbox.info.srvd_pid);
    remove_synthetic(&sandbox)?;

    println!("## hs-srvd\n");
    println!("| measure | hs-srvd | bare axum handler | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| authenticated GET /api/auth/whoami, req/s (wrk -t2 -c64) | {:.0} | {:.0} | {:.2} |",
        ours.requests_per_sec,
        anchor.requests_per_sec,
        ours.requests_per_sec / anchor.requests_per_sec
    );
    println!("| p99 latency, ms | {:.2} | {:.2} | |", ours.p99_ms, anchor.p99_ms);
    println!("| resident memory idle | {:.1} MiB | | |", idle as f64 / 1024.0);
    println!(
        "| resident memory after listing {count} accounts | {:.1} MiB | | |\n",
        loaded as f64 / 1024.0
    );
    Ok(())
}

fn hs_services_free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Account records written straight into the state (no Linux users): the daemon
/// keeps no per-account memory, and this shows it.
fn synthetic_accounts(sandbox: &Sandbox, n: usize) -> anyhow::Result<()> {
    let userdata = sandbox.root.join("var/hspanel/userdata");
    for i in 0..n {
        let user = format!("syn{i}");
        let dir = userdata.join(&user);
        std::fs::create_dir_all(&dir)?;
        let record = format!(
            "version: 1\nusername: {user}\nrole: user\nowner: admin\nplan: default\n\
             primary_domain: {user}.test\nuid: 60000\ngid: 60000\npassword_hash: x\n\
             created: 2026-12-03T00:00:00Z\n"
        );
        std::fs::write(dir.join("account.yaml"), record)?;
    }
    Ok(())
}

fn remove_synthetic(sandbox: &Sandbox) -> anyhow::Result<()> {
    let userdata = sandbox.root.join("var/hspanel/userdata");
    for entry in std::fs::read_dir(&userdata)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("syn") {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}
