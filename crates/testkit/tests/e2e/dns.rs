//! HS::DNS end to end: every assertion is an answer from the sandbox's real named
//! through `dig`, or a verdict of `named-checkzone`.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hs_testkit::{Sandbox, unique};
use serde_json::{Value, json};

fn zone_file(sandbox: &Sandbox, domain: &str) -> std::path::PathBuf {
    sandbox.layout_path(&format!("var/named/{domain}.db"))
}

fn checkzone(zone: &str, path: &std::path::Path) -> (bool, String) {
    let out = Command::new("named-checkzone").arg(zone).arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
}

/// `named-checkzone -D`: the zone in BIND's canonical form, SOA left out, sorted.
fn canonical(zone: &str, path: &std::path::Path) -> Vec<String> {
    let out = Command::new("named-checkzone")
        .args(["-q", "-D", "-o", "-"])
        .arg(zone)
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty() && !l.contains(" SOA "))
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_new_account_has_a_zone_that_follows_its_records() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("dns");
    let zone = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &zone);

    // The spec's template, answered by named right after the creation.
    let soa = sandbox.dig(&zone, "SOA");
    assert!(soa[0].contains(&format!("SOA ns1.server.hspanel.test. admin.{zone}. ")), "{soa:?}");
    let serial = sandbox.soa_serial(&zone);
    let today = Command::new("date").args(["-u", "+%Y%m%d"]).output().unwrap();
    let today: u32 = String::from_utf8_lossy(&today.stdout).trim().parse().unwrap();
    assert!(serial >= today * 100, "serial {serial} is not YYYYMMDDNN of today");
    let ns = sandbox.dig(&zone, "NS");
    assert!(ns.contains(&format!("{zone}. 14400 IN NS ns1.server.hspanel.test.")), "{ns:?}");
    assert!(ns.contains(&format!("{zone}. 14400 IN NS ns2.server.hspanel.test.")), "{ns:?}");
    assert_eq!(sandbox.dig(&zone, "A"), [format!("{zone}. 14400 IN A 127.0.0.1")]);
    assert_eq!(sandbox.dig(&zone, "MX"), [format!("{zone}. 14400 IN MX 10 mail.{zone}.")]);
    assert_eq!(
        sandbox.dig(&format!("www.{zone}"), "A"),
        [format!("www.{zone}. 14400 IN A 127.0.0.1")]
    );
    assert_eq!(
        sandbox.dig(&format!("mail.{zone}"), "A"),
        [format!("mail.{zone}. 14400 IN A 127.0.0.1")]
    );

    // The account holder adds a record on the user port: it answers, the serial grew.
    let me = sandbox.user(&alice, &password);
    let reply = me.call(
        "dns/add_record",
        json!({ "domain": zone, "type": "A", "name": "app", "value": "192.0.2.7", "ttl": 300 }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_u64().unwrap();
    assert_eq!(
        sandbox.dig(&format!("app.{zone}"), "A"),
        [format!("app.{zone}. 300 IN A 192.0.2.7")]
    );
    let after_add = sandbox.soa_serial(&zone);
    assert!(after_add > serial, "{after_add} after {serial}");

    // MX with its priority in its own field, and a long TXT split into strings.
    let reply = me.call(
        "dns/add_record",
        json!({
            "domain": zone, "type": "MX", "name": "@",
            "value": "mx2.example.net.", "priority": 20,
        }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let key = format!("v=DKIM1; k=rsa; p={}\"\\", "A".repeat(400));
    let reply = me.call(
        "dns/add_record",
        json!({ "domain": zone, "type": "TXT", "name": "sel._domainkey", "value": key }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let txt = sandbox.dig(&format!("sel._domainkey.{zone}"), "TXT");
    let want_first = format!("\"v=DKIM1; k=rsa; p={}\"", "A".repeat(255 - 18));
    assert!(txt[0].contains(&want_first), "{txt:?}");
    assert!(txt[0].ends_with("\\\"\\\\\""), "{txt:?}");
    assert!(sandbox.dig(&zone, "MX").contains(&format!("{zone}. 14400 IN MX 20 mx2.example.net.")));

    // Editing keeps the id; deleting removes the answer; the serial keeps growing.
    let reply = me.call(
        "dns/edit_record",
        json!({ "domain": zone, "id": id, "type": "A", "name": "app", "value": "192.0.2.8" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["id"].as_u64(), Some(id));
    assert_eq!(
        sandbox.dig(&format!("app.{zone}"), "A"),
        [format!("app.{zone}. 14400 IN A 192.0.2.8")]
    );
    let reply = me.call("dns/delete_record", json!({ "domain": zone, "id": id }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(sandbox.dig(&format!("app.{zone}"), "A").iter().all(|l| !l.contains(" IN A ")));
    assert!(sandbox.soa_serial(&zone) > after_add);

    // The same through the CLI: it lists the records with their ids.
    let out = sandbox.cli(&["--json", "dns", "list", &alice, &zone], None);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(listed["records"].as_array().unwrap().iter().all(|r| r["id"].as_u64() != Some(id)));

    // A subdomain is a record in its parent's zone; an addon gets its own zone.
    let reply = me.call("domain/add_subdomain", json!({ "domain": zone, "subdomain": "blog" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        sandbox.dig(&format!("www.blog.{zone}"), "A"),
        [format!("www.blog.{zone}. 14400 IN A 127.0.0.1")]
    );
    let addon = format!("{alice}-shop.test");
    let reply = me.call("domain/add", json!({ "domain": addon }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(sandbox.dig(&addon, "MX"), [format!("{addon}. 14400 IN MX 10 mail.{addon}.")]);
    let reply = me.call("domain/delete", json!({ "domain": addon }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(sandbox.dig(&addon, "SOA").is_empty());
}

#[test]
fn fifty_concurrent_adds_all_land() {
    let sandbox = Arc::new(Sandbox::start());
    let admin = sandbox.admin();
    let user = unique("dnsc");
    let zone = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &zone);
    let first = sandbox.soa_serial(&zone);

    // A watcher samples the serial while the changes land: it may only grow.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (sandbox, zone, done) = (Arc::clone(&sandbox), zone.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut seen = vec![];
            while !done.load(Ordering::SeqCst) {
                seen.push(sandbox.soa_serial(&zone));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            seen
        })
    };

    let handles: Vec<_> = (0..50)
        .map(|i| {
            let client = sandbox.user(&user, &password);
            let zone = zone.clone();
            std::thread::spawn(move || {
                let body = json!({
                    "domain": zone, "type": "A", "name": format!("h{i}"),
                    "value": format!("192.0.2.{}", i + 1),
                });
                client.call("dns/add_record", body)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for h in handles {
        let reply = h.join().unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        ids.push(reply.body["id"].as_u64().unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let seen = watcher.join().unwrap();

    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "ids are not distinct");
    for i in 0..50 {
        let name = format!("h{i}.{zone}");
        assert_eq!(sandbox.dig(&name, "A"), [format!("{name}. 14400 IN A 192.0.2.{}", i + 1)]);
    }
    let (ok, text) = checkzone(&zone, &zone_file(&sandbox, &zone));
    assert!(ok, "{text}");
    let last = sandbox.soa_serial(&zone);
    assert!(last >= first + 50, "{first} -> {last} after 50 changes");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "the serial went back: {seen:?}");
}

#[test]
fn bad_records_are_refused_and_the_zone_file_is_untouched() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("dnsb");
    let bob = unique("dnso");
    let zone = format!("{alice}.test");
    let bob_zone = format!("{bob}.test");
    let password = sandbox.create_account(&admin, &alice, &zone);
    sandbox.create_account(&admin, &bob, &bob_zone);
    let me = sandbox.user(&alice, &password);

    let before = sandbox.tree_digest();
    let file = std::fs::read(zone_file(&sandbox, &zone)).unwrap();
    let bob_file = std::fs::read(zone_file(&sandbox, &bob_zone)).unwrap();
    let cases = [
        (json!({ "type": "CNAME", "name": "@", "value": "other.example." }), "apex"),
        (json!({ "type": "CNAME", "name": "www", "value": "other.example." }), "CNAME"),
        (json!({ "type": "TXT", "name": "t", "value": "line one\nline two" }), "line break"),
        (json!({ "type": "A", "name": "x", "value": "1.2.3.999" }), "IPv4"),
        (json!({ "type": "MX", "name": "@", "value": "10 192.0.2.1" }), "IP address"),
        (json!({ "type": "A", "name": "a..b", "value": "192.0.2.1" }), "empty label"),
        (json!({ "type": "A", "name": "x", "value": "192.0.2.1", "ttl": -1 }), "TTL"),
        (json!({ "type": "A", "name": "_x", "value": "192.0.2.1" }), "'_'"),
        (json!({ "type": "SOA", "name": "@", "value": "x" }), "not supported"),
        (json!({ "type": "A", "name": "x.other.example.", "value": "192.0.2.1" }), "not inside"),
        (json!({ "type": "NS", "name": "dev", "value": "ns.dev" }), "needs an A or AAAA"),
        (json!({ "type": "A", "name": "www", "value": "127.0.0.1" }), "exists already"),
    ];
    for (record, expect) in cases {
        let mut body = record.clone();
        body["domain"] = json!(zone);
        let reply = me.call("dns/add_record", body.clone());
        assert!((400..500).contains(&reply.status), "{body}: {} {}", reply.status, reply.body);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expect), "{body}: {message:?} lacks {expect:?}");
    }

    // Another user's zone looks like no zone at all, whatever the action.
    let attempts = [
        (
            "dns/add_record",
            json!({ "domain": bob_zone, "type": "A", "name": "x", "value": "192.0.2.1" }),
        ),
        (
            "dns/add_record",
            json!({
                "username": bob, "domain": bob_zone,
                "type": "A", "name": "x", "value": "192.0.2.1",
            }),
        ),
        ("dns/list_records", json!({ "domain": bob_zone })),
        ("dns/delete_record", json!({ "domain": bob_zone, "id": 1 })),
        ("dns/import_zone", json!({ "domain": bob_zone, "zone": "@ A 192.0.2.1\n" })),
        ("dns/delete_zone", json!({ "domain": bob_zone })),
        ("dns/export_zone", json!({ "domain": bob_zone })),
    ];
    for (action, body) in attempts {
        let reply = me.call(action, body.clone());
        assert!(
            [403, 404].contains(&reply.status),
            "{action} {body}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(file, std::fs::read(zone_file(&sandbox, &zone)).unwrap());
    assert_eq!(bob_file, std::fs::read(zone_file(&sandbox, &bob_zone)).unwrap());
    assert_eq!(before, sandbox.tree_digest(), "a refused request changed files");

    // Deleting the last NS or importing garbage is refused too.
    for id in [1, 2] {
        let reply = me.call("dns/delete_record", json!({ "domain": zone, "id": id }));
        if id == 2 {
            assert_eq!(reply.status, 400, "{}", reply.body);
        } else {
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    }
    let after_ns = sandbox.tree_digest();
    let file_after_ns = std::fs::read(zone_file(&sandbox, &zone)).unwrap();
    let reply = me.call("dns/import_zone", json!({ "domain": zone, "zone": "@ IN PTR x.test.\n" }));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("line 1"));
    assert_eq!(after_ns, sandbox.tree_digest());
    assert_eq!(file_after_ns, std::fs::read(zone_file(&sandbox, &zone)).unwrap());
}

#[test]
fn bad_records_leave_every_file_byte_identical() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("dnsi");
    let zone = format!("{alice}.test");
    sandbox.create_account(&admin, &alice, &zone);
    let before = sandbox.tree_digest();
    let file = std::fs::read(zone_file(&sandbox, &zone)).unwrap();
    for record in [
        json!({ "type": "CNAME", "name": "@", "value": "other.example." }),
        json!({ "type": "TXT", "name": "t", "value": "a\nb" }),
        json!({ "type": "A", "name": "x", "value": "1.2.3.999" }),
        json!({ "type": "MX", "name": "@", "value": "10 1.2.3.4" }),
        json!({ "type": "A", "name": "a..b", "value": "192.0.2.1" }),
        json!({ "type": "A", "name": "x", "value": "192.0.2.1", "ttl": -1 }),
    ] {
        let mut body = record.clone();
        body["username"] = json!(alice);
        body["domain"] = json!(zone);
        let reply = admin.call("dns/add_record", body.clone());
        assert!((400..500).contains(&reply.status), "{body}: {}", reply.body);
    }
    assert_eq!(file, std::fs::read(zone_file(&sandbox, &zone)).unwrap());
    assert_eq!(before, sandbox.tree_digest(), "a refused record changed files");
}

/// Real-world-shaped zones with every supported type, `{Z}` standing for the zone.
const ZONES: [&str; 2] = [
    r#"$ORIGIN {Z}.
$TTL 1h
@   IN  SOA ns1.example.net. hostmaster.{Z}. (
            2024010101 ; serial
            7200 3600 1209600 300 )
    IN  NS  ns1.example.net.
        NS  ns2.example.net.
@   300 IN A 192.0.2.10
    IN  AAAA 2001:db8::10
    MX  10 mail
    MX  20 mx2.example.net.
www IN CNAME {Z}.
mail 600 A 192.0.2.25
mail     AAAA 2001:db8::25
_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{Z}"
@ TXT "v=spf1 mx a:mail.{Z} include:_spf.example.net -all"
sel1._domainkey IN TXT ( "v=DKIM1; k=rsa; "
    "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxvY7mK0h1lXq3C4bA1k5gL2Zt4aWzJvQ8pTn7u"
    "R2s9bC1dE4fG7hJ0kL3mN6pQ9rS2tU5vW8xY1zA4bC7dE0fG3hJ6kL9mN2pQ5rS8tU1vW4xY7zA0bC3dE6fG9hJ2k" )
_sip._tcp SRV 10 60 5060 sip
_sips._tcp 3600 IN SRV 0 0 0 .
sip A 192.0.2.40
@ CAA 0 issue "letsencrypt.org"
@ CAA 0 iodef "mailto:security@{Z}"
dev NS ns1.dev
dev NS ns2.example.net.
ns1.dev A 192.0.2.53
*.apps 120 A 192.0.2.80
"#,
    r#"; exported from another panel
$TTL 86400
{Z}.	IN	SOA	a.ns.example.org. root.{Z}. 1 2 3 4 5
{Z}.	IN	NS	a.ns.example.org.
{Z}.	IN	NS	b.ns.example.org.
{Z}.	IN	MX	0 .
{Z}.	IN	TXT	"v=spf1 -all"
$ORIGIN shop.{Z}.
@	IN	A	203.0.113.5
www	IN	CNAME	shop.{Z}.
cdn	IN	CNAME	d111111abcdef8.cloudfront.net.
_acme-challenge	IN	TXT	"quoted \"text\" and a \\ backslash"
"#,
];

#[test]
fn real_world_zones_import_answer_and_export_back() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("dnsz");
    let zone = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &zone);
    let me = sandbox.user(&alice, &password);
    let scratch = sandbox.layout_path("tmp");
    std::fs::create_dir_all(&scratch).unwrap();

    for (n, template) in ZONES.iter().enumerate() {
        let text = template.replace("{Z}", &zone);
        let source = scratch.join(format!("source{n}.db"));
        std::fs::write(&source, &text).unwrap();
        let want = canonical(&zone, &source);

        let reply = me.call("dns/import_zone", json!({ "domain": zone, "zone": text }));
        assert_eq!(reply.status, 200, "zone {n}: {}", reply.body);

        // What named loaded passes its own check and equals the source.
        let live = zone_file(&sandbox, &zone);
        let (ok, out) = checkzone(&zone, &live);
        assert!(ok, "zone {n}: {out}");
        assert_eq!(canonical(&zone, &live), want, "zone {n}");

        // Every record of the source answers through dig, as in the source.
        for line in &want {
            let mut parts = line.split(' ');
            let (name, rtype) = (parts.next().unwrap(), parts.nth(2).unwrap());
            let answer = sandbox.dig_all(name, rtype);
            assert!(answer.contains(line), "zone {n}: {line:?} not in {answer:?}");
        }

        // The export (API and CLI) is the same zone again.
        let reply = me.call("dns/export_zone", json!({ "domain": zone }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let exported = reply.body["zone"].as_str().unwrap().to_string();
        let path = scratch.join(format!("export{n}.db"));
        std::fs::write(&path, &exported).unwrap();
        assert_eq!(canonical(&zone, &path), want, "zone {n} exported");
        let cli = sandbox.cli(&["dns", "export", &alice, &zone], None);
        assert_eq!(String::from_utf8_lossy(&cli.stdout), exported);

        // And it imports again to the very same records.
        let reply = me.call("dns/import_zone", json!({ "domain": zone, "zone": exported }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(canonical(&zone, &live), want, "zone {n} re-imported");
    }

    // The default template brings the spec's records back.
    let reply = me.call("dns/apply_template", json!({ "domain": zone, "template": "default" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(sandbox.dig(&zone, "MX"), [format!("{zone}. 14400 IN MX 10 mail.{zone}.")]);
}

#[test]
fn a_change_reloads_only_its_own_zone() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("dnsr");
    let bob = unique("dnsq");
    let (zone, other) = (format!("{alice}.test"), format!("{bob}.test"));
    sandbox.create_account(&admin, &alice, &zone);
    sandbox.create_account(&admin, &bob, &other);
    let other_serial = sandbox.soa_serial(&other);

    let mark = sandbox.named_log().len();
    let reply = admin.call(
        "dns/add_record",
        json!({ "username": alice, "domain": zone, "type": "TXT", "name": "t", "value": "x" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let serial = sandbox.soa_serial(&zone);

    let log = sandbox.named_log();
    let new = &log[mark..];
    assert!(new.contains(&format!("received control channel command 'reload {zone}'")), "{new}");
    assert!(new.contains(&format!("zone {zone}/IN: loaded serial {serial}")), "{new}");
    assert!(!new.contains(&format!("zone {other}/IN")), "{other} was touched: {new}");
    assert!(!new.contains("command 'reload'\n"), "a full reload: {new}");
    assert!(!new.contains("reconfig"), "a reconfiguration: {new}");
    assert!(!new.contains("loading configuration"), "{new}");
    assert_eq!(sandbox.soa_serial(&other), other_serial);
}

#[test]
fn the_plan_caps_the_records_of_each_zone() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let alice = unique("dnslim");
    let zone = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &zone);
    let me = sandbox.user(&alice, &password);
    let listed = me.call("dns/list_records", json!({ "domain": zone }));
    assert_eq!(listed.status, 200, "{}", listed.body);
    let from_template = listed.body["records"].as_array().unwrap().len();

    // A plan with room for two records beyond the template's.
    let limit = from_template + 2;
    for (plan, records) in [("dnstwo", limit), ("dnsone", 1)] {
        let limits = json!({ "dns_records": records });
        let reply = admin.call("plan/save", json!({ "name": plan, "limits": limits }));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let reply = admin.call("account/change_plan", json!({ "username": alice, "plan": "dnstwo" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let txt = |name: &str| json!({ "domain": zone, "type": "TXT", "name": name, "value": "v" });
    for name in ["one", "two"] {
        let reply = me.call("dns/add_record", txt(name));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    // Full: another record, a bigger zone file, and staff alike are refused, no file changes.
    let before = sandbox.tree_digest();
    let serial = sandbox.soa_serial(&zone);
    let reply = me.call("dns/add_record", txt("three"));
    assert_eq!((reply.status, reply.code()), (403, "limit_reached"), "{}", reply.body);
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("allows {limit} DNS records")), "{message}");
    let reply = admin.call(
        "dns/add_record",
        json!({ "username": alice, "domain": zone, "type": "A", "name": "x", "value": "192.0.2.1" }),
    );
    assert_eq!((reply.status, reply.code()), (403, "limit_reached"), "{}", reply.body);
    let big: String = (0..=limit).map(|i| format!("h{i} 300 IN A 192.0.2.{}\n", i + 1)).collect();
    let big = format!("@ NS ns1.server.hspanel.test.\n{big}");
    let reply = me.call("dns/import_zone", json!({ "domain": zone, "zone": big }));
    assert_eq!((reply.status, reply.code()), (403, "limit_reached"), "{}", reply.body);
    assert_eq!(before, sandbox.tree_digest(), "a refused change changed files");
    assert!(sandbox.dig(&format!("three.{zone}"), "TXT").is_empty());
    assert_eq!(sandbox.soa_serial(&zone), serial);

    // A plan too small for the zone is refused; shrinking the zone is always allowed.
    let reply = admin.call("account/change_plan", json!({ "username": alice, "plan": "dnsone" }));
    assert_eq!((reply.status, reply.code()), (403, "limit_reached"), "{}", reply.body);
    let reply = me.call("dns/apply_template", json!({ "domain": zone, "template": "default" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["records"].as_array().unwrap().len(), from_template);
    assert!(sandbox.dig(&format!("one.{zone}"), "TXT").is_empty());
    let small = "@ NS ns1.server.hspanel.test.\nwww 300 IN A 192.0.2.9\n";
    let reply = me.call("dns/import_zone", json!({ "domain": zone, "zone": small }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        sandbox.dig(&format!("www.{zone}"), "A"),
        [format!("www.{zone}. 300 IN A 192.0.2.9")]
    );
}

/// `dig +dnssec`: the answer records' types, e.g. `["SOA", "RRSIG"]`.
fn dnssec_types(sandbox: &Sandbox, name: &str, rtype: &str) -> Vec<String> {
    let out = Command::new("dig")
        .args(["+norec", "+noall", "+answer", "+dnssec", "+time=5"])
        .args(["-p", &sandbox.info.dns_port.to_string(), "@127.0.0.1", name, rtype])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect()
}

fn wait_signed(sandbox: &Sandbox, name: &str, rtype: &str) {
    let started = std::time::Instant::now();
    while !dnssec_types(sandbox, name, rtype).iter().any(|t| t == "RRSIG") {
        assert!(started.elapsed().as_secs() < 60, "{name} {rtype} never got an RRSIG");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_zone_signed_with_dnssec_answers_with_signatures_and_shows_its_ds() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let (alice, bob) = (unique("dnssec"), unique("dnssec"));
    let zone = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &zone);
    let bob_password = sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    assert!(!dnssec_types(&sandbox, &zone, "SOA").iter().any(|t| t == "RRSIG"));

    // Another user cannot sign her zone; nothing changes.
    let other = sandbox.user(&bob, &bob_password);
    let before = sandbox.tree_digest();
    let reply = other.call("dns/set_dnssec", json!({ "domain": zone, "enabled": true }));
    assert_eq!(reply.status, 404, "{}", reply.body);
    let reply = me.call("dns/set_dnssec", json!({ "domain": zone, "enabled": "yes" }));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(before, sandbox.tree_digest(), "a refused request changed files");

    let reply = me.call("dns/set_dnssec", json!({ "domain": zone, "enabled": true }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["dnssec"], "signed", "{}", reply.body);
    wait_signed(&sandbox, &zone, "SOA");
    wait_signed(&sandbox, &zone, "A");
    assert!(dnssec_types(&sandbox, &zone, "DNSKEY").iter().any(|t| t == "DNSKEY"));

    // The DS for the registrar: SHA-256 of the key-signing key named made.
    let listed = me.call("dns/list_records", json!({ "domain": zone }));
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ds: Vec<&str> =
        listed.body["ds"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert!(!ds.is_empty(), "{}", listed.body);
    for line in &ds {
        assert!(line.starts_with(&format!("{zone}. IN DS ")), "{line}");
        assert_eq!(line.split(' ').nth(4), Some("13"), "ECDSA P-256 (the default policy)");
        assert_eq!(line.split(' ').nth(5), Some("2"), "SHA-256 digest");
    }

    // Records still change on a signed zone, and come signed.
    let reply = me.call(
        "dns/add_record",
        json!({ "domain": zone, "type": "A", "name": "signed", "value": "192.0.2.44" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    wait_signed(&sandbox, &format!("signed.{zone}"), "A");
    let conf = std::fs::read_to_string(sandbox.layout_path("etc/bind/hspanel-zones.conf")).unwrap();
    assert!(conf.contains("dnssec-policy default; inline-signing yes;"), "{conf}");

    // Turning it off (here with the CLI) goes through BIND's `insecure` policy; the
    // config stays valid.
    let out = sandbox.cli(&["--json", "dns", "dnssec", &alice, &zone, "off"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["dnssec"], "unsigning", "{shown}");
    let conf = std::fs::read_to_string(sandbox.layout_path("etc/bind/hspanel-zones.conf")).unwrap();
    assert!(conf.contains("dnssec-policy insecure;"), "{conf}");
    assert_eq!(
        sandbox.dig(&format!("signed.{zone}"), "A"),
        [format!("signed.{zone}. 14400 IN A 192.0.2.44")]
    );

    // Deleting the zone takes named's keys, signed copy and journals with it (the
    // pipeline keeps its `.bak` of what it removed).
    let reply = me.call("dns/delete_zone", json!({ "domain": zone }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let left: Vec<String> = sandbox
        .tree_digest()
        .into_keys()
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with("var/named/") && p.contains(&zone) && !p.ends_with(".bak"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(sandbox.dig(&zone, "SOA").is_empty());
}
