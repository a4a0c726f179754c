//! HS::Mail with real clients against the sandbox's private Postfix, Dovecot,
//! OpenDKIM and spamd: swaks sends, curl reads over IMAP(S) and POP3(S), Perl's
//! Mail::DKIM verifies signatures against the key the sandbox's BIND serves.
//! One sandbox for the whole file (its start costs seconds), one test per
//! story, run in order inside [`mail_end_to_end`].

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use hs_testkit::{Client, Sandbox, unique};
use serde_json::{Value, json};

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const PW: &str = "Mail-Pass-2026!";

fn ok(reply: hs_testkit::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

struct Mail<'a> {
    sandbox: &'a Sandbox,
    domain: String,
}

impl Mail<'_> {
    fn addr(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// swaks to the SMTP port; `extra` adds swaks options.
    fn send(&self, from: &str, to: &str, subject: &str, extra: &[&str]) -> Output {
        let server = format!("127.0.0.1:{}", self.sandbox.info.smtp_port);
        let out = Command::new("swaks")
            .args(["--server", &server, "--from", from, "--to", to])
            .args(["--header", &format!("Subject: {subject}"), "--timeout", "30"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "swaks: {}", String::from_utf8_lossy(&out.stdout));
        out
    }

    fn imap(&self, user: &str, password: &str, path: &str, request: Option<&str>) -> Output {
        let url = format!("imap://127.0.0.1:{}/{path}", self.sandbox.info.imap_port);
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "20", "-u", &format!("{user}:{password}")]);
        if let Some(request) = request {
            cmd.args(["-X", request]);
        }
        cmd.arg(url).output().unwrap()
    }

    /// Message numbers in a folder whose subject contains `subject`.
    fn search(&self, user: &str, folder: &str, subject: &str) -> Vec<u32> {
        let out = self.imap(user, PW, folder, Some(&format!("SEARCH SUBJECT \"{subject}\"")));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .filter_map(|l| l.strip_prefix("* SEARCH"))
            .flat_map(|l| l.split_whitespace().map(|n| n.parse::<u32>().unwrap()))
            .collect()
    }

    /// Waits until `user`'s folder has `count` messages with the subject.
    fn wait_for(&self, user: &str, folder: &str, subject: &str, count: usize) -> Vec<u32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.search(user, folder, subject);
            if found.len() >= count {
                return found;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.sandbox.root.join("var/log/mail/mail.log"))
                    .unwrap_or_default();
                panic!("{user}/{folder}: no {subject:?} after 30 s; mail.log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The whole message by sequence number.
    fn fetch(&self, user: &str, folder: &str, n: u32) -> String {
        let out = self.imap(user, PW, &format!("{folder};MAILINDEX={n}"), None);
        assert!(out.status.success(), "fetch: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn login_refused(out: &Output) -> bool {
    !out.status.success()
}

#[test]
fn mail_end_to_end() {
    let sandbox = Sandbox::start();
    assert_ne!(sandbox.info.smtp_port, 0, "sandbox.json has no smtp_port");
    for port in [sandbox.info.submission_port, sandbox.info.imaps_port, sandbox.info.pop3s_port] {
        assert_ne!(port, 0);
    }
    let admin = sandbox.admin();
    let alice = unique("mla");
    let bob = unique("mlb");
    let domain = format!("{alice}.test");
    let password = sandbox.create_account(&admin, &alice, &domain);
    let bob_pass = sandbox.create_account(&admin, &bob, &format!("{bob}.test"));
    let me = sandbox.user(&alice, &password);
    let other = sandbox.user(&bob, &bob_pass);
    let mail = Mail { sandbox: &sandbox, domain: domain.clone() };

    mailboxes_and_refused_input(&sandbox, &me, &mail);
    delivery_imap_pop3(&sandbox, &mail);
    the_logs_count_the_delivery(&me, &mail);
    forwarder_and_catchall(&me, &mail);
    autoresponder(&me, &mail);
    dkim_on_submission(&sandbox, &mail);
    spam_and_quota(&me, &mail);
    isolation(&other, &mail);
    suspension(&sandbox, &admin, &alice, &mail);
    termination(&sandbox, &admin, &alice, &mail);
}

fn termination(sandbox: &Sandbox, admin: &Client, alice: &str, mail: &Mail<'_>) {
    ok(admin.call("account/terminate", json!({ "username": alice })));
    let maps = std::fs::read_to_string(sandbox.layout_path("etc/postfix/virtual_mailbox_maps"));
    assert!(!maps.unwrap().contains(&mail.domain), "the maps still name the domain");
    for gone in [
        format!("etc/dovecot/hspanel-users/{}", mail.domain),
        format!("var/mail/vhosts/{}", mail.domain),
        format!("etc/opendkim/keys/{}", mail.domain),
    ] {
        assert!(!sandbox.layout_path(&gone).exists(), "{gone} is left");
    }
    let keys = std::fs::read_to_string(sandbox.layout_path("etc/opendkim/KeyTable")).unwrap();
    assert!(!keys.contains(&mail.domain), "{keys}");
}

fn mailboxes_and_refused_input(sandbox: &Sandbox, me: &Client, mail: &Mail<'_>) {
    let domain = &mail.domain;
    let made = ok(me.call(
        "mail/create_account",
        json!({ "domain": domain, "user": "info", "password": PW, "quota": "1024M" }),
    ));
    assert_eq!(made["email"], mail.addr("info"));
    let batch = json!({ "domain": domain, "accounts": [
        { "user": "copy", "password": PW },
        { "user": "lists", "password": PW },
        { "user": "small", "password": PW, "quota": "1M" },
    ]});
    assert_eq!(ok(me.call("mail/create_account", batch))["accounts"].as_array().unwrap().len(), 3);

    // The password is kept only as a SHA512-CRYPT hash.
    let passwd = sandbox.layout_path(&format!("etc/dovecot/hspanel-users/{domain}"));
    let text = std::fs::read_to_string(passwd).unwrap();
    assert!(text.contains("info:{SHA512-CRYPT}$6$"), "{text}");
    assert!(!text.contains(PW));
    let listed = ok(me.call("mail/list_accounts", json!({})));
    assert_eq!(listed["accounts"].as_array().unwrap().len(), 4);
    assert!(!listed.to_string().contains("$6$"), "the hash must not be shown");

    // DKIM, SPF and DMARC are in the zone.
    let dkim = sandbox.dig(&format!("hspanel._domainkey.{domain}"), "TXT").join(" ");
    assert!(dkim.contains("v=DKIM1; k=rsa; p="), "{dkim}");
    assert!(sandbox.dig(domain, "TXT").join(" ").contains("v=spf1"));
    assert!(sandbox.dig(&format!("_dmarc.{domain}"), "TXT").join(" ").contains("v=DMARC1"));

    // Bad names and addresses: 400, and no file changes.
    let before = sandbox.tree_digest();
    for user in ["a:b", "a b", "a,b", "a\nb", "info@x", "", "a\"b", "../x"] {
        let body = json!({ "domain": domain, "user": user, "password": PW });
        assert_eq!(me.call("mail/create_account", body).status, 400, "{user:?}");
    }
    for quota in ["1024", "-1M", "1M\n", "lots"] {
        let body = json!({ "domain": domain, "user": "q", "password": PW, "quota": quota });
        assert_eq!(me.call("mail/create_account", body).status, 400, "{quota:?}");
    }
    for dest in [
        json!("x@y.test, z@w.test"),
        json!("a:b@y.test"),
        json!("a b@y.test"),
        json!(["ok@y.test", "bad\n@y.test"]),
        json!("nobody"),
        json!([]),
    ] {
        let body = json!({ "source": mail.addr("sales"), "dest": dest });
        assert_eq!(me.call("mail/create_forwarder", body).status, 400, "{dest}");
    }
    let body = json!({ "source": "sa:les@x.test", "dest": "a@b.test" });
    assert_eq!(me.call("mail/create_forwarder", body).status, 400);
    assert_eq!(sandbox.tree_digest(), before, "a refused change touched files");
}

/// hs-logd follows the real Postfix and Dovecot logs: the message delivered
/// above counts for its mailbox in the owner's statistics.
fn the_logs_count_the_delivery(me: &Client, mail: &Mail<'_>) {
    let info = mail.addr("info");
    let count = |counter: &str| -> u64 {
        let reply = me.call("monitor/stats", json!({ "domain": mail.domain, "days": 2 }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let days = reply.body["mail"].as_array().cloned().unwrap_or_default();
        days.iter().filter_map(|d| d["by"][info.as_str()][counter].as_u64()).sum()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while count("received") < 1 || count("stored") < 1 {
        assert!(Instant::now() < deadline, "hs-logd did not count the delivery to {info}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn delivery_imap_pop3(sandbox: &Sandbox, mail: &Mail<'_>) {
    let info = mail.addr("info");
    mail.send("someone@example.net", &info, "hello-imap", &[]);
    let found = mail.wait_for(&info, "INBOX", "hello-imap", 1);
    assert!(mail.fetch(&info, "INBOX", found[0]).contains("Subject: hello-imap"));
    let maildir = sandbox.layout_path(&format!("var/mail/vhosts/{}/info/Maildir", mail.domain));
    let files = |sub: &str| std::fs::read_dir(maildir.join(sub)).map(|d| d.count()).unwrap_or(0);
    assert!(files("new") + files("cur") >= 1, "not in the maildir");

    // A wrong password fails on IMAP and POP3.
    assert!(login_refused(&mail.imap(&info, "wrong-password", "INBOX", None)));
    let pop3 = |password: &str, tls: bool| {
        let (scheme, port) =
            if tls { ("pop3s", sandbox.info.pop3s_port) } else { ("pop3", sandbox.info.pop3_port) };
        Command::new("curl")
            .args(["-sS", "-k", "--max-time", "20", "-u", &format!("{info}:{password}")])
            .arg(format!("{scheme}://127.0.0.1:{port}/1"))
            .output()
            .unwrap()
    };
    let fetched = pop3(PW, false);
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    assert!(String::from_utf8_lossy(&fetched.stdout).contains("hello-imap"));
    assert!(String::from_utf8_lossy(&pop3(PW, true).stdout).contains("hello-imap"), "POP3S");
    assert!(login_refused(&pop3("wrong-password", false)));

    // IMAPS with the server's certificate.
    let imaps = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "20", "-u", &format!("{info}:{PW}")])
        .args(["-X", "SEARCH ALL"])
        .arg(format!("imaps://127.0.0.1:{}/INBOX", sandbox.info.imaps_port))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&imaps.stdout).contains("* SEARCH 1"), "IMAPS");
}

fn forwarder_and_catchall(me: &Client, mail: &Mail<'_>) {
    let (info, copy) = (mail.addr("info"), mail.addr("copy"));
    let made = ok(me.call(
        "mail/create_forwarder",
        json!({ "source": mail.addr("sales"), "dest": [copy.clone()] }),
    ));
    assert_eq!(made["dest"][0], copy.as_str());
    // A forwarder on a mailbox keeps its copy there.
    ok(me.call("mail/create_forwarder", json!({ "source": info, "dest": copy })));
    mail.send("someone@example.net", &mail.addr("sales"), "fwd-sales", &[]);
    mail.send("someone@example.net", &info, "fwd-info", &[]);
    mail.wait_for(&copy, "INBOX", "fwd-sales", 1);
    mail.wait_for(&copy, "INBOX", "fwd-info", 1);
    mail.wait_for(&info, "INBOX", "fwd-info", 1);
    ok(me.call("mail/delete_forwarder", json!({ "source": info })));

    // Unknown local parts are refused until there is a catch-all.
    let server = format!("127.0.0.1:{}", mail.sandbox.info.smtp_port);
    let refused = Command::new("swaks")
        .args(["--server", &server, "--to", &mail.addr("nobody-here"), "--quit-after", "RCPT"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an unknown recipient was accepted");
    ok(me.call("mail/set_catchall", json!({ "domain": mail.domain, "dest": info })));
    mail.send("someone@example.net", &mail.addr("nobody-here"), "catch-me", &[]);
    mail.wait_for(&info, "INBOX", "catch-me", 1);
    ok(me.call("mail/set_catchall", json!({ "domain": mail.domain })));
}

fn autoresponder(me: &Client, mail: &Mail<'_>) {
    let (info, copy, lists) = (mail.addr("info"), mail.addr("copy"), mail.addr("lists"));
    ok(me.call(
        "mail/set_autoresponder",
        json!({ "email": info, "subject": "Away \"now\"", "body": "Back on Monday.\nBye",
                "start": "2020-01-01", "interval": 24 }),
    ));
    mail.send(&copy, &info, "auto-1", &[]);
    mail.send(&copy, &info, "auto-2", &[]);
    mail.send(&lists, &info, "auto-list", &["--header", "List-Id: <news.example.net>"]);
    mail.send("", &info, "auto-bounce", &["--header", "Auto-Submitted: auto-replied"]);
    mail.wait_for(&info, "INBOX", "auto-bounce", 1);
    mail.wait_for(&info, "INBOX", "auto-list", 1);
    let replies = mail.wait_for(&copy, "INBOX", "Away", 1);
    let reply = mail.fetch(&copy, "INBOX", replies[0]);
    assert!(reply.contains("Back on Monday."), "{reply}");
    // Once per sender per interval, and never to a list.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(mail.search(&copy, "INBOX", "Away").len(), 1);
    assert!(mail.search(&lists, "INBOX", "Away").is_empty(), "a list got a reply");
    ok(me.call("mail/delete_autoresponder", json!({ "email": info })));
    let sieve =
        mail.sandbox.layout_path(&format!("var/mail/vhosts/{}/info/hspanel.sieve", mail.domain));
    assert!(!std::fs::read_to_string(sieve).unwrap().contains("vacation :"));
}

fn dkim_on_submission(sandbox: &Sandbox, mail: &Mail<'_>) {
    let (info, copy) = (mail.addr("info"), mail.addr("copy"));
    let server = format!("127.0.0.1:{}", sandbox.info.submission_port);
    let submit = |password: &str| {
        Command::new("swaks")
            .args(["--server", &server, "--tls", "--auth", "PLAIN"])
            .args(["--auth-user", &info, "--auth-password", password])
            .args(["--from", &info, "--to", &copy, "--header", "Subject: signed-mail"])
            .args(["--timeout", "30"])
            .output()
            .unwrap()
    };
    assert!(!submit("wrong-password").status.success(), "a wrong password was accepted");
    let out = submit(PW);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let found = mail.wait_for(&copy, "INBOX", "signed-mail", 1);
    let message = mail.fetch(&copy, "INBOX", found[0]);
    assert!(message.contains(&format!("d={};", mail.domain)), "{message}");

    // Verify with Mail::DKIM, asking the sandbox's BIND for the key.
    let script = format!(
        "use Mail::DKIM::Verifier; use Mail::DKIM::DNS; use Net::DNS::Resolver;\n\
         Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers=>['127.0.0.1'], \
         port=>{}, recurse=>0));\n\
         my $v = Mail::DKIM::Verifier->new; while (<STDIN>) {{ chomp; s/\\r$//; \
         $v->PRINT(\"$_\\015\\012\"); }} $v->CLOSE; print $v->result, \"\\n\";",
        sandbox.info.dns_port
    );
    let verify = |text: &str| {
        use std::io::Write;
        let mut child = Command::new("perl")
            .args(["-e", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).trim().to_owned()
    };
    assert_eq!(verify(&message), "pass");
    assert_eq!(
        verify(&message.replace("This is a test mailing", "This is a forged mailing")),
        "fail"
    );
}

fn spam_and_quota(me: &Client, mail: &Mail<'_>) {
    let (info, small) = (mail.addr("info"), mail.addr("small"));
    mail.send("someone@example.net", &info, "gtube-test", &["--body", GTUBE]);
    mail.wait_for(&info, "Junk", "gtube-test", 1);
    assert!(mail.search(&info, "INBOX", "gtube-test").is_empty());

    // Over the quota: refused with a bounce to the sender.
    let big = "x".repeat(76);
    let body: String = (0..20_000).map(|_| format!("{big}\n")).collect();
    let file = mail.sandbox.root.join("big-body.txt");
    std::fs::write(&file, body).unwrap();
    mail.send(&info, &small, "too-big", &["--body", file.to_str().unwrap()]);
    let bounces = mail.wait_for(&info, "INBOX", "Undelivered Mail", 1);
    let bounce = mail.fetch(&info, "INBOX", bounces[0]);
    assert!(bounce.to_lowercase().contains("quota"), "{bounce}");
    assert!(mail.search(&small, "INBOX", "too-big").is_empty());
    ok(me.call("mail/set_quota", json!({ "email": small, "quota": "10M" })));
}

fn isolation(other: &Client, mail: &Mail<'_>) {
    let info = mail.addr("info");
    let calls = [
        ("mail/create_account", json!({ "domain": mail.domain, "user": "x", "password": PW })),
        ("mail/change_password", json!({ "email": info, "password": "Other-Pass-1" })),
        ("mail/delete_account", json!({ "email": info })),
        ("mail/create_forwarder", json!({ "source": mail.addr("steal"), "dest": "x@y.test" })),
        ("mail/set_catchall", json!({ "domain": mail.domain, "dest": "x@y.test" })),
        ("mail/list_accounts", json!({ "domain": mail.domain })),
    ];
    for (action, body) in calls {
        let reply = other.call(action, body);
        assert!(reply.status == 404 || reply.status == 403, "{action}: {}", reply.body);
    }
    assert!(!mail.search(&info, "INBOX", "hello-imap").is_empty(), "info was touched");
}

fn suspension(sandbox: &Sandbox, admin: &Client, alice: &str, mail: &Mail<'_>) {
    let info = mail.addr("info");
    ok(admin.call("account/suspend", json!({ "username": alice, "reason": "unpaid" })));
    assert!(login_refused(&mail.imap(&info, PW, "INBOX", None)), "IMAP login while suspended");
    let server = format!("127.0.0.1:{}", sandbox.info.submission_port);
    let smtp = Command::new("swaks")
        .args(["--server", &server, "--tls", "--auth", "PLAIN", "--auth-user", &info])
        .args(["--auth-password", PW, "--to", &mail.addr("copy"), "--quit-after", "AUTH"])
        .output()
        .unwrap();
    assert!(!smtp.status.success(), "SMTP AUTH while suspended");
    mail.send("someone@example.net", &info, "while-suspended", &[]);
    std::thread::sleep(Duration::from_secs(2));
    let log = std::fs::read_to_string(sandbox.root.join("var/log/mail/mail.log")).unwrap();
    assert!(log.contains("hold: RCPT") && log.contains("account suspended"), "not held:\n{log}");
    let maildir = sandbox.layout_path(&format!("var/mail/vhosts/{}/info/Maildir", mail.domain));
    let holds = |sub: &str| {
        std::fs::read_dir(maildir.join(sub))
            .map(|d| {
                d.flatten().any(|f| {
                    std::fs::read_to_string(f.path())
                        .unwrap_or_default()
                        .contains("while-suspended")
                })
            })
            .unwrap_or(false)
    };
    assert!(!holds("new") && !holds("cur"), "delivered while suspended");

    ok(admin.call("account/unsuspend", json!({ "username": alice })));
    mail.wait_for(&info, "INBOX", "while-suspended", 1);
}
