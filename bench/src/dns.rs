//! HS::DNS: the time from `add_record` (through hs-srvd's API) until named answers
//! the new record, with 10 zones and with 10,000 zones in the server, beside what
//! the whole server costs: a full `rndc reload` and `named-checkconf -z`.
//!
//! One real account owns the measured zone; the other zones are synthetic: zone
//! files written straight into `var/named/`, declared in `hspanel-zones.conf`
//! (rendered by the panel's own renderer) and loaded with `rndc reconfig`, exactly
//! as the panel adds zones. Answers are read with a small UDP client (no process
//! start); `dig`'s own cost is measured separately for reference.

use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use hs_config::Layout;
use hs_config::Templates;
use hs_config::render::{self, ZoneDecl};
use hs_testkit::{Sandbox, unique};
use serde_json::json;

/// Record additions measured at each size.
const SAMPLES: usize = 20;

pub fn run() -> anyhow::Result<()> {
    let mut sandbox = Sandbox::start();
    sandbox.restart_with_config(|text| {
        *text = text.replace("requests_per_second: 50", "requests_per_second: 100000");
    });
    let admin = sandbox.admin();
    let user = unique("bdns");
    let zone = format!("{user}.test");
    sandbox.create_account(&admin, &user, &zone);
    let layout = Layout::sandbox(&sandbox.root);
    let port = sandbox.info.dns_port;
    anyhow::ensure!(answers(port, &zone, QTYPE_SOA)?, "named does not answer {zone}");

    let dig_ms = dig_cost(port, &zone)?;
    let mut rows = Vec::new();
    let mut next = 0;
    for total in [10, 10_000] {
        let (declare_s, load_s) = grow(&layout, port, total - 1)?;
        let (api, answered) = add_records(&sandbox, &admin, &user, &zone, &mut next)?;
        let reload_s = full_reload(&layout, port, total - 1, rows.len() as u32)?;
        let checkconf_s = checkconf(&layout)?;
        rows.push((total, api, answered, reload_s, checkconf_s, declare_s, load_s));
    }

    println!("## DNS: `add_record` until named answers, beside the whole server\n");
    println!(
        "| zones | add_record API, median / p95 (ms) | until answered, median / p95 (ms) | \
         full `rndc reload` (s) | `named-checkconf -z` (s) | adding the zones: \
         render + write (s) / `rndc reconfig` until loaded (s) |"
    );
    println!("|---|---|---|---|---|---|");
    for (total, api, answered, reload_s, checkconf_s, declare_s, load_s) in rows {
        println!(
            "| {total} | {:.1} / {:.1} | {:.1} / {:.1} | {reload_s:.2} | {checkconf_s:.2} | \
             {declare_s:.2} / {load_s:.2} |",
            api.0, api.1, answered.0, answered.1
        );
    }
    println!(
        "\n`add_record` reloads its zone alone (`rndc reload ZONE`) and returns once \
         named serves the new serial; answers read with a UDP query of our own. For \
         reference, one `dig` process costs {dig_ms:.1} ms (median of 20). The full \
         `rndc reload` is timed after every synthetic zone's serial was bumped, until the \
         last one serves it.\n"
    );
    clear(&layout)?;
    Ok(())
}

// --- the synthetic zones ---------------------------------------------------------------

fn synthetic(i: usize) -> String {
    format!("z{i}.bench.test")
}

fn zone_text(name: &str, serial: u32) -> String {
    format!(
        "$TTL 14400\n\
         @ IN SOA ns1.server.hspanel.test. admin.{name}. {serial} 3600 1800 604800 86400\n\
         @ IN NS ns1.server.hspanel.test.\n@ IN NS ns2.server.hspanel.test.\n\
         @ IN A 127.0.0.1\nwww IN A 127.0.0.1\nmail IN A 127.0.0.1\n@ IN MX 10 mail\n"
    )
}

/// Writes synthetic zones until there are `n`, regenerates `hspanel-zones.conf`
/// from the zone files present (as the panel does), `rndc reconfig`, and waits
/// until the last one answers. Returns (render + write, reconfig until loaded).
fn grow(layout: &Layout, port: u16, n: usize) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    for i in 0..n {
        let name = synthetic(i);
        let path = layout.zone_files().join(format!("{name}.db"));
        if !path.exists() {
            std::fs::write(&path, zone_text(&name, 2026010101))?;
        }
    }
    write_zones_conf(layout)?;
    let declare_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    rndc(layout, &["reconfig"])?;
    for i in (0..n).rev() {
        wait_answer(port, &synthetic(i), QTYPE_SOA)?;
    }
    Ok((declare_s, started.elapsed().as_secs_f64()))
}

fn write_zones_conf(layout: &Layout) -> anyhow::Result<()> {
    let mut decls = Vec::new();
    for entry in std::fs::read_dir(layout.zone_files())? {
        let file = entry?.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".db")) else { continue };
        let file = layout.zone_file(&name.parse()?);
        let key_dir = layout.dnssec_keys();
        decls.push(ZoneDecl { name: name.to_string(), file, dnssec_policy: None, key_dir });
    }
    decls.sort_by(|a, b| a.name.cmp(&b.name));
    let text = render::bind_zones(&Templates::builtin(), &decls)?;
    std::fs::write(layout.bind_zones_conf(), text)?;
    Ok(())
}

/// Removes the synthetic zones so the sandbox's teardown stays short.
fn clear(layout: &Layout) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(layout.zone_files())? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().ends_with(".bench.test.db") {
            std::fs::remove_file(entry.path())?;
        }
    }
    write_zones_conf(layout)?;
    rndc(layout, &["reconfig"])
}

// --- the measures ----------------------------------------------------------------------

/// `SAMPLES` TXT records added through the API, each followed by UDP queries until
/// named answers it: (API median, p95) and (answered median, p95), in ms.
fn add_records(
    sandbox: &Sandbox,
    admin: &hs_testkit::Client,
    user: &str,
    zone: &str,
    next: &mut usize,
) -> anyhow::Result<((f64, f64), (f64, f64))> {
    let (mut api, mut answered) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let name = format!("b{next}");
        *next += 1;
        let started = Instant::now();
        let reply = admin.call(
            "dns/add_record",
            json!({ "username": user, "domain": zone, "type": "TXT", "name": name,
                    "value": "bench" }),
        );
        anyhow::ensure!(reply.status == 200, "add_record: {}", reply.body);
        api.push(started.elapsed().as_secs_f64() * 1000.0);
        wait_answer(sandbox.info.dns_port, &format!("{name}.{zone}"), QTYPE_TXT)?;
        answered.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((crate::percentiles(api), crate::percentiles(answered)))
}

/// Bumps every synthetic zone's serial, then `rndc reload` (every zone) until the
/// last one serves the new serial.
fn full_reload(layout: &Layout, port: u16, n: usize, round: u32) -> anyhow::Result<f64> {
    let serial = 2026010110 + round;
    for i in 0..n {
        let name = synthetic(i);
        std::fs::write(layout.zone_files().join(format!("{name}.db")), zone_text(&name, serial))?;
    }
    // named skips files whose time is not after its last load; let the clock move.
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    rndc(layout, &["reload"])?;
    for i in 0..n {
        let deadline = Instant::now() + Duration::from_secs(120);
        while soa_serial(port, &synthetic(i))? != Some(serial) {
            anyhow::ensure!(Instant::now() < deadline, "{} never got {serial}", synthetic(i));
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

fn checkconf(layout: &Layout) -> anyhow::Result<f64> {
    let started = Instant::now();
    let out = Command::new("named-checkconf").arg("-z").arg(layout.named_conf()).output()?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    Ok(started.elapsed().as_secs_f64())
}

/// One `dig` process answering from the server: median of 20, in ms.
fn dig_cost(port: u16, zone: &str) -> anyhow::Result<f64> {
    let mut ms = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let out = Command::new("dig")
            .args(["+norec", "+short", "-p", &port.to_string(), "@127.0.0.1", zone, "SOA"])
            .output()?;
        anyhow::ensure!(out.status.success(), "dig failed");
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(crate::percentiles(ms).0)
}

fn rndc(layout: &Layout, args: &[&str]) -> anyhow::Result<()> {
    let conf = layout.bind_dir().join("rndc.conf");
    let out = Command::new("rndc").arg("-c").arg(&conf).args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "rndc {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

// --- a minimal DNS client ---------------------------------------------------------------

const QTYPE_SOA: u16 = 6;
const QTYPE_TXT: u16 = 16;

/// One query, no recursion: the response's rcode, answer count and bytes.
fn query(port: u16, name: &str, qtype: u16) -> anyhow::Result<Option<(u8, u16, Vec<u8>)>> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(1)))?;
    static NEXT_ID: AtomicU16 = AtomicU16::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut packet = id.to_be_bytes().to_vec();
    packet.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&1u16.to_be_bytes());
    socket.send_to(&packet, ("127.0.0.1", port))?;
    let mut buf = vec![0u8; 4096];
    let Ok(len) = socket.recv(&mut buf) else { return Ok(None) };
    buf.truncate(len);
    if len < 12 || buf[..2] != id.to_be_bytes() {
        return Ok(None);
    }
    Ok(Some((buf[3] & 0x0f, u16::from_be_bytes([buf[6], buf[7]]), buf)))
}

fn answers(port: u16, name: &str, qtype: u16) -> anyhow::Result<bool> {
    Ok(matches!(query(port, name, qtype)?, Some((0, n, _)) if n > 0))
}

fn wait_answer(port: u16, name: &str, qtype: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers(port, name, qtype)? {
        anyhow::ensure!(Instant::now() < deadline, "{name} never answered");
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// The SOA serial in the first answer record (named may add NS records after it).
fn soa_serial(port: u16, zone: &str) -> anyhow::Result<Option<u32>> {
    let Some((0, 1.., bytes)) = query(port, zone, QTYPE_SOA)? else { return Ok(None) };
    let Some(at) = skip_name(&bytes, 12) else { return Ok(None) };
    let Some(at) = skip_name(&bytes, at + 4) else { return Ok(None) };
    let (rdlen_at, rdata_at) = (at + 8, at + 10);
    let Some(rdlen) = bytes.get(rdlen_at..rdata_at) else { return Ok(None) };
    let end = rdata_at + usize::from(u16::from_be_bytes([rdlen[0], rdlen[1]]));
    let Some(serial) = end.checked_sub(20).and_then(|s| bytes.get(s..s + 4)) else {
        return Ok(None);
    };
    Ok(Some(u32::from_be_bytes([serial[0], serial[1], serial[2], serial[3]])))
}

/// The offset after the (possibly compressed) name at `at`.
fn skip_name(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}
