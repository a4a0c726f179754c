//! Account creation until the site answers: one at a time (median, p95), and 100
//! at once (wall time).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hs_testkit::{Sandbox, unique};
use serde_json::json;

/// Status of `GET /` for `host` on the sandbox's nginx, with a tiny HTTP client.
fn status(port: u16, host: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return 0 };
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    if stream.read_exact(&mut head).is_err() {
        return 0;
    }
    String::from_utf8_lossy(&head[9..12]).parse().unwrap_or(0)
}

fn create_until_served(sandbox: &Sandbox, admin: &hs_testkit::Client, user: &str) -> Duration {
    let started = Instant::now();
    let domain = format!("{user}.test");
    let reply = admin.call(
        "account/create",
        json!({ "username": user, "domain": domain, "password": "Bench-Pass-123" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    while status(sandbox.info.http_port, &domain) != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "{domain} never answered");
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

pub fn run() -> anyhow::Result<()> {
    let mut sandbox = Sandbox::start();
    sandbox.restart_with_config(|text| {
        *text = text.replace("requests_per_second: 50", "requests_per_second: 100000");
    });
    let admin = sandbox.admin();

    let one_by_one: Vec<f64> = (0..20)
        .map(|_| create_until_served(&sandbox, &admin, &unique("b")).as_secs_f64() * 1000.0)
        .collect();
    let (median, p95) = crate::percentiles(one_by_one);

    let users: Vec<String> = (0..100).map(|_| unique("p")).collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for user in &users {
            let (sandbox, admin) = (&sandbox, &admin);
            scope.spawn(move || create_until_served(sandbox, admin, user));
        }
    });
    let wall = started.elapsed().as_secs_f64();

    println!("## Account creation until the site answers\n");
    println!("| measure | HS-Panel | cPanel `createacct` (published) |");
    println!("|---|---|---|");
    println!(
        "| one at a time, median | {median:.0} ms | seconds to minutes (billing waits up to 90 s) |"
    );
    println!("| one at a time, p95 | {p95:.0} ms | |");
    println!("| 100 concurrently, wall time | {wall:.1} s | |\n");
    Ok(())
}
