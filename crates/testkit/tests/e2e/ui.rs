//! The web UI in headless Chromium: an administrator and a customer do their
//! work through the pages, values with markup in them stay text, and a
//! cross-site form post is refused; DNS records and cron jobs made on their
//! pages are served by named and installed in cron; a database user granted ALL on
//! the databases page logs in to MariaDB, and a file dropped on the file manager
//! and edited there lands in the home, owned by the account. Screenshots of the
//! main pages go to `ui-screenshots/` in the target folder for a reviewer.

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;

use hs_testkit::browser::{Browser, screenshot_dir};
use hs_testkit::{Client, Sandbox, unique};
use serde_json::json;

fn shot(browser: &Browser, name: &str) {
    browser.screenshot(&screenshot_dir().join(format!("{name}.png")));
}

/// Markup in a value must arrive as text: no element it names exists in the
/// page, no alert opened, and the payload's side effect never ran.
fn assert_inert(browser: &Browser) {
    assert_eq!(browser.alert_text(), None, "an alert opened");
    let injected = browser.script(
        "return document.querySelectorAll('main script, main img, main iframe, main b.evil').length \
         + (window.hsInjected ? 100 : 0);",
        json!([]),
    );
    assert_eq!(injected, json!(0), "markup from data became elements");
}

const PAYLOAD: &str =
    "<script>alert('x')</script><img src=x onerror=\"window.hsInjected=1\"><b class=evil>b</b>";

#[test]
fn admin_creates_suspends_and_unsuspends_an_account() {
    let sandbox = Sandbox::start();
    let browser = Browser::start();
    browser.log_in(&sandbox.info.admin_url, &sandbox.info.admin_user, &sandbox.info.admin_password);
    browser.find(".tiles .tile");

    // Create the account from the form.
    let user = unique("uiacct");
    let domain = format!("{user}.test");
    browser.click("nav a[data-page=accounts]");
    let form = "form[data-form=create-account]";
    browser.find(form);
    browser.script("document.querySelector('details.create').open = true;", json!([]));
    browser.type_into(&format!("{form} input[name=username]"), &user);
    browser.type_into(&format!("{form} input[name=domain]"), &domain);
    browser.type_into(&format!("{form} input[name=password]"), "Site-Pass-2026!");
    browser.click(&format!("{form} button[type=submit]"));
    let row = format!("tr[data-key=\"{user}\"]");
    browser.find(&row);
    assert!(browser.text(".notices").contains(&user));
    assert_eq!(sandbox.web(&domain, "/").0, 200);

    // Suspend with a reason full of markup: the site goes 503, the reason stays text.
    browser.click(&format!("button[data-action=suspend][data-user=\"{user}\"]"));
    browser.type_into("form[data-form=suspend] input[name=reason]", PAYLOAD);
    browser.click("form[data-form=suspend] button[type=submit]");
    browser.find(&format!("button[data-action=unsuspend][data-user=\"{user}\"]"));
    assert_eq!(sandbox.web(&domain, "/").0, 503);
    let reason = browser.script(
        "return document.querySelector(arguments[0] + ' .reason').textContent;",
        json!([row]),
    );
    assert_eq!(reason.as_str().unwrap().trim(), PAYLOAD);
    assert_inert(&browser);
    shot(&browser, "admin-accounts");

    // Search narrows the list; the pager says where we are.
    browser.type_into(".toolbar input[type=search]", "no-such-account-anywhere");
    browser.find("main .list .empty");
    browser.type_into(".toolbar input[type=search]", &user);
    browser.find(&row);

    // Unsuspend: the site serves again, and the search survives the reload.
    browser.click(&format!("button[data-action=unsuspend][data-user=\"{user}\"]"));
    browser.find(&format!("button[data-action=suspend][data-user=\"{user}\"]"));
    assert_eq!(sandbox.web(&domain, "/").0, 200);
    let query = browser.script("return document.querySelector('.toolbar input').value;", json!([]));
    assert_eq!(query, json!(user));

    // "Log in as": the one-time link opens the user portal as the account.
    browser.click(&format!("button[data-action=login-as][data-user=\"{user}\"]"));
    let link = browser.script(
        "return document.querySelector('.notices a[data-action=open-portal]').href;",
        json!([]),
    );
    let link = link.as_str().unwrap().to_owned();
    assert!(link.starts_with(&sandbox.info.user_url), "{link}");
    browser.goto(&link);
    browser.find("nav a[data-page=domains]");
    assert!(browser.text("#who-name").contains(&user));
    assert!(browser.text(".notices").contains("on behalf of"));
    assert!(!browser.url().contains("ticket"), "the ticket stays out of the address");
    shot(&browser, "user-logged-in-as");
    browser.goto(&link);
    browser.find("form[data-form=login]");
    assert!(browser.text("main").contains("expired or was used"));
    browser.goto(&format!("{}/#/accounts?q={user}", sandbox.info.admin_url));
    browser.find(&row);

    // A refused action shows the API's message and the operation id.
    browser.click(&format!("button[data-action=plan][data-user=\"{user}\"]"));
    browser.script(
        "const s = document.querySelector('form[data-form=change-plan] select'); \
         s.append(new Option('missing', 'missing')); s.value = 'missing';",
        json!([]),
    );
    browser.click("form[data-form=change-plan] button[type=submit]");
    let error = browser.text("dialog .notice.error");
    assert!(error.contains("missing") && error.contains("Operation id: op-"), "{error}");
    shot(&browser, "admin-error");
    browser.click("dialog button.secondary");

    // The admin manages the account's domains from its row.
    browser.click(&format!("{row} a[href^=\"#/domains\"]"));
    browser.find(&format!("table.domains tr[data-key=\"{domain}\"]"));
    shot(&browser, "admin-domains");

    browser.click("nav a[data-page=resellers]");
    browser.find("form[data-form=create-reseller]");
    shot(&browser, "admin-resellers");

    browser.click("nav a[data-page=plans]");
    browser.find("table.plans");
    shot(&browser, "admin-plans");

    // The dashboard counts the account and its domain.
    browser.click("nav a[data-page=dashboard]");
    let tiles = "Array.from(document.querySelectorAll('.tile')).map(t => t.innerText).join(' ')";
    browser.wait_until(&format!("/1\\s+Domains/.test({tiles})"), "the domain count");
    shot(&browser, "admin-dashboard");
}

#[test]
fn a_user_adds_a_subdomain_and_markup_stays_text() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("uiuser");
    let domain = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &domain);
    let limits = json!({ "addon_domains": 2, "subdomains": 5, "parked_domains": 1 });
    let plan = unique("starter");
    assert_eq!(admin.call("plan/save", json!({ "name": plan, "limits": limits })).status, 200);
    let moved = admin.call("account/change_plan", json!({ "username": user, "plan": plan }));
    assert_eq!(moved.status, 200, "{}", moved.body);

    // The same browser is logged in to both portals: each port has its own cookie.
    let browser = Browser::start();
    browser.log_in(&sandbox.info.admin_url, &sandbox.info.admin_user, &sandbox.info.admin_password);
    browser.log_in(&sandbox.info.user_url, &user, &password);
    browser.find(".usage");
    assert!(browser.text("main").contains(&domain));

    // Add a subdomain from the domains page and see it listed and served.
    browser.click("nav a[data-page=domains]");
    let form = "form[data-form=add-subdomain]";
    browser.type_into(&format!("{form} input[name=subdomain]"), "blog");
    browser.select(&format!("{form} select[name=domain]"), &domain);
    browser.click(&format!("{form} button[type=submit]"));
    let blog = format!("blog.{domain}");
    browser.find(&format!("tr[data-key=\"{blog}\"]"));
    assert_eq!(sandbox.web(&blog, "/").0, 200);
    shot(&browser, "user-domains");
    browser.click("nav a[data-page=dashboard]");
    let meter = "document.querySelector('#u-subdomains')";
    browser.wait_until(&format!("{meter} && {meter}.value === 1"), "1 of 5 subdomains");
    assert!(browser.text("main").contains("1 of 5 used"));
    shot(&browser, "user-dashboard");

    // A domain name with markup is refused, and the refusal is shown as text.
    browser.click("nav a[data-page=domains]");
    let form = "form[data-form=add-addon]";
    browser.type_into(&format!("{form} input[name=domain]"), &format!("{PAYLOAD}.test"));
    browser.click(&format!("{form} button[type=submit]"));
    let error = browser.text(&format!("{form} .notice.error"));
    assert!(error.contains("Operation id: op-"), "{error}");
    assert_inert(&browser);

    // So is markup in the address.
    browser.goto(&format!("{}/#/%3Cimg%20src=x%20onerror=alert(1)%3E", sandbox.info.user_url));
    browser.wait_until("document.querySelector('main h1').textContent === 'Not found'", "404");
    assert!(browser.text("main").contains("<img src=x onerror=alert(1)>"));
    assert_inert(&browser);

    // An API token is created and shown once; the list shows its name.
    browser.goto(&format!("{}/#/security", sandbox.info.user_url));
    browser.type_into("form[data-form=create-token] input[name=name]", "deploy bot");
    browser.click("form[data-form=create-token] button[type=submit]");
    browser.find("input.secret");
    let secret = browser.script("return document.querySelector('input.secret').value;", json!([]));
    assert!(secret.as_str().unwrap().starts_with("hsp_"), "{secret}");
    browser.find("tr[data-key=\"deploy bot\"]");
    shot(&browser, "user-tokens");

    // Phone width, dark theme: the menu folds behind a button and still works.
    browser.set_window_size(390, 844);
    browser.prefer_dark(true);
    browser.goto(&format!("{}/#/dashboard", sandbox.info.user_url));
    browser.find(".usage");
    shot(&browser, "user-dashboard-phone-dark");
    browser.click("#menu-toggle");
    browser.click("nav a[data-page=domains]");
    browser.find(&format!("tr[data-key=\"{blog}\"]"));
    shot(&browser, "user-domains-phone-dark");

    // Logging out ends the session: the login form is back, even after a reload.
    browser.set_window_size(1280, 900);
    browser.click("#logout");
    browser.find("form[data-form=login]");
    browser.goto(&format!("{}/", sandbox.info.user_url));
    browser.find("form[data-form=login]");

    // The admin portal's session in the same browser was never touched.
    browser.goto(&format!("{}/#/accounts", sandbox.info.admin_url));
    browser.find(&format!("tr[data-key=\"{user}\"]"));
}

/// A page on another origin (same site: 127.0.0.1, another port) that posts a
/// JSON-looking `text/plain` form to the admin port. Without the origin check the
/// browser's cookie would carry it.
fn serve_attack_page(admin_url: &str, user: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let name = format!("{{\"username\":\"{user}\",\"reason\":\"");
    let page = format!(
        "<!doctype html><title>win a prize</title>\
         <form method=post enctype=text/plain action=\"{admin_url}/api/account/suspend\">\
         <input type=hidden name='{name}' value='\"}}'><button id=go>Claim</button></form>"
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                page.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(page.as_bytes());
        }
    });
    url
}

#[test]
fn a_cross_site_post_with_the_session_cookie_is_refused() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("uicsrf");
    sandbox.create_account(&admin, &user, &format!("{user}.test"));

    let base = &sandbox.info.admin_url;
    let host = base.trim_start_matches("http://");
    let cookie = format!("hs_admin_session={}", admin.token.as_deref().unwrap());
    let client = Client::new(base);
    let suspend = json!({ "username": user, "reason": "csrf" });
    let before = sandbox.tree_digest();

    // Cookie plus a foreign Origin, a foreign Referer, or neither: refused, nothing changed.
    let evil = [
        vec![("Cookie", cookie.as_str()), ("Origin", "http://evil.example")],
        vec![("Cookie", cookie.as_str()), ("Origin", "null")],
        vec![("Cookie", cookie.as_str()), ("Referer", "http://evil.example/x")],
        vec![("Cookie", cookie.as_str())],
    ];
    for headers in &evil {
        let reply = client.post_with_headers("account/suspend", suspend.clone(), headers);
        assert_eq!((reply.status, reply.code()), (403, "csrf"), "{headers:?}: {}", reply.body);
    }
    assert_eq!(sandbox.tree_digest(), before);

    // Reads with the cookie are fine; so are bearer clients, whatever the Origin.
    let origin = format!("http://{host}");
    let reply = client.post_with_headers(
        "auth/whoami",
        json!({}),
        &[("Cookie", cookie.as_str()), ("Origin", "http://evil.example")],
    );
    assert_eq!(reply.status, 403, "a POST is a POST, even to a read");
    let bearer = format!("Bearer {}", admin.token.as_deref().unwrap());
    let reply = client.post_with_headers(
        "auth/whoami",
        json!({}),
        &[("Authorization", bearer.as_str()), ("Origin", "http://evil.example")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    // The panel's own page: Origin (or Referer) equal to the Host, port included.
    let referer = format!("{origin}/#/accounts");
    let ok = [
        vec![("Cookie", cookie.as_str()), ("Origin", origin.as_str())],
        vec![("Cookie", cookie.as_str()), ("Referer", referer.as_str())],
    ];
    for headers in &ok {
        let reply = client.post_with_headers("auth/whoami", json!({}), headers);
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.body);
    }
    let port = host.rsplit_once(':').unwrap().1;
    let v6 = format!("[::1]:{port}");
    let reply = client.post_with_headers(
        "auth/whoami",
        json!({}),
        &[("Cookie", cookie.as_str()), ("Host", &v6), ("Origin", &format!("http://{v6}"))],
    );
    assert_eq!(reply.status, 200, "IPv6 host: {}", reply.body);

    // Through the browser: logged in to the admin portal, the user opens a page
    // on another port of the same host that posts to the panel. Refused.
    let browser = Browser::start();
    browser.log_in(base, &sandbox.info.admin_user, &sandbox.info.admin_password);
    let before = sandbox.tree_digest();
    browser.goto(&serve_attack_page(base, &user));
    browser.click("#go");
    browser.wait_until("document.body.innerText.includes('csrf')", "the refusal");
    let shown = admin.call("account/show", json!({ "username": user }));
    assert_eq!(shown.body["suspended"], json!(false), "{}", shown.body);
    assert_eq!(sandbox.tree_digest(), before);
}

/// Clicks a button in a long page: scrolled to the middle first, because
/// chromedriver scrolls it to the top edge, under the sticky header.
fn click_centred(browser: &Browser, css: &str) {
    browser.find(css);
    browser.script(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
        json!([css]),
    );
    browser.click(css);
}

/// The `data-key` (the record's or job's id) of the first row of `table` whose
/// text contains `needle`.
fn row_key(browser: &Browser, table: &str, needle: &str) -> String {
    let find = format!(
        "Array.from(document.querySelectorAll('{table} tr[data-key]'))\
         .find(r => r.textContent.includes({}))",
        serde_json::to_string(needle).unwrap()
    );
    browser.wait_until(&find, needle);
    let key = browser.script(&format!("return {find}.dataset.key;"), json!([]));
    key.as_str().unwrap().to_string()
}

#[test]
fn a_user_edits_dns_records_and_cron_jobs_through_the_pages() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("uidns");
    let domain = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &domain);
    let browser = Browser::start();
    browser.log_in(&sandbox.info.user_url, &user, &password);

    // DNS: the account's zone is shown; an A record added on the page is served.
    browser.click("nav a[data-page=dns]");
    browser.find("table.dns-records");
    let form = "form[data-form=add-record]";
    let add_record = |rtype: &str, name: &str, value: &str, ttl: &str| {
        browser.select(&format!("{form} select[name=type]"), rtype);
        browser.type_into(&format!("{form} input[name=name]"), name);
        browser.type_into(&format!("{form} input[name=value]"), value);
        browser.type_into(&format!("{form} input[name=ttl]"), ttl);
        browser.click(&format!("{form} button[type=submit]"));
    };
    add_record("A", "app", "192.0.2.44", "300");
    let app = format!("app.{domain}");
    let id = row_key(&browser, "table.dns-records", "192.0.2.44");
    assert_eq!(sandbox.dig(&app, "A"), [format!("{app}. 300 IN A 192.0.2.44")]);

    // MX takes its priority in a field of its own, shown only for MX and SRV.
    browser.select(&format!("{form} select[name=type]"), "MX");
    browser.type_into(&format!("{form} input[name=priority]"), "20");
    add_record("MX", "@", "mx2.example.net.", "3600");
    row_key(&browser, "table.dns-records", "20 mx2.example.net.");
    assert!(
        sandbox.dig(&domain, "MX").contains(&format!("{domain}. 3600 IN MX 20 mx2.example.net."))
    );
    browser.select(&format!("{form} select[name=type]"), "TXT");
    let hidden = browser.script(
        "return document.querySelector(arguments[0]).closest('.field').hidden;",
        json!([format!("{form} input[name=priority]")]),
    );
    assert_eq!(hidden, json!(true), "a TXT record has no priority field");

    // A TXT record full of markup is shown as text.
    add_record("TXT", "note", PAYLOAD, "300");
    row_key(&browser, "table.dns-records", "<script>alert('x')</script>");
    assert_inert(&browser);
    assert_eq!(sandbox.dig(&format!("note.{domain}"), "TXT").len(), 1);

    // A refused record: the API's message and the operation id, nothing added.
    add_record("A", "bad", "not-an-address", "300");
    let error = browser.text(&format!("{form} .notice.error"));
    assert!(error.contains("Operation id: op-"), "{error}");
    assert!(sandbox.dig(&format!("bad.{domain}"), "A").iter().all(|l| !l.contains(" IN A ")));
    shot(&browser, "user-dns-error");
    browser.script("window.scrollTo(0, 0);", json!([]));
    shot(&browser, "user-dns");

    // Edit the A record in its dialog, then export the zone as text.
    click_centred(&browser, &format!("button[data-action=edit][data-id=\"{id}\"]"));
    browser.type_into("form[data-form=edit-record] input[name=value]", "192.0.2.45");
    browser.click("form[data-form=edit-record] button[type=submit]");
    assert_eq!(row_key(&browser, "table.dns-records", "192.0.2.45"), id);
    assert_eq!(sandbox.dig(&app, "A"), [format!("{app}. 300 IN A 192.0.2.45")]);
    click_centred(&browser, "button[data-action=export]");
    browser.find(".export textarea");
    let exported =
        browser.script("return document.querySelector('.export textarea').value;", json!([]));
    assert!(exported.as_str().unwrap().contains("192.0.2.45"), "{exported}");
    shot(&browser, "user-dns-export");

    // Delete it: named no longer answers it.
    click_centred(&browser, &format!("button[data-action=delete][data-id=\"{id}\"]"));
    browser.click("form[data-form=delete-record] button[type=submit]");
    browser.wait_until(
        &format!("!document.querySelector('table.dns-records tr[data-key=\"{id}\"]')"),
        "the record gone",
    );
    assert!(sandbox.dig(&app, "A").iter().all(|l| !l.contains(" IN A ")));

    // Applying the default template, after a confirmation, drops the MX added above.
    browser.select("form[data-form=apply-template] select[name=template]", "default");
    click_centred(&browser, "form[data-form=apply-template] button[type=submit]");
    browser.click("form[data-form=confirm-template] button[type=submit]");
    browser.wait_until(
        "document.querySelector('.notices').textContent.includes('was applied')",
        "the template applied",
    );
    assert_eq!(sandbox.dig(&domain, "MX"), [format!("{domain}. 14400 IN MX 10 mail.{domain}.")]);

    // DNSSEC, after a confirmation: the zone is signed and its DS record shown.
    click_centred(&browser, "button[data-action=dnssec]");
    browser.click("form[data-form=set-dnssec] button[type=submit]");
    browser.wait_until(
        "document.querySelector('.notices').textContent.includes('DNSSEC turned on')",
        "DNSSEC turned on",
    );
    let started = std::time::Instant::now();
    while !browser.exists(".ds-records code.ds") {
        assert!(started.elapsed().as_secs() < 60, "no DS record shown");
        std::thread::sleep(std::time::Duration::from_millis(500));
        browser.script("location.reload();", json!([]));
        browser.find("table.dns-records");
    }
    assert!(browser.text(".ds-records code.ds").starts_with(&format!("{domain}. IN DS ")));

    // Cron: a daily job chosen in plain words, with its next runs listed.
    browser.click("nav a[data-page=cron]");
    let form = "form[data-form=add-job]";
    browser.select(&format!("{form} select[name=every]"), "daily");
    browser.select(&format!("{form} select[name=hour]"), "4");
    browser.type_into(&format!("{form} input[name=command]"), "echo hello-from-ui");
    browser.type_into(&format!("{form} input[name=comment]"), PAYLOAD);
    browser.click(&format!("{form} button[type=submit]"));
    let job = row_key(&browser, "table.cron-jobs", "echo hello-from-ui");
    let row = format!("table.cron-jobs tr[data-key=\"{job}\"]");
    let runs = browser.script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' .next-runs time'))\
         .map(t => t.textContent);",
        json!([row]),
    );
    let runs = runs.as_array().unwrap();
    assert!(!runs.is_empty(), "no next runs shown");
    assert!(runs.iter().all(|t| t.as_str().unwrap().ends_with(" 04:00")), "{runs:?}");
    assert!(browser.text(&row).contains("Every day at 04:00"));
    let comment = browser.script(
        "return document.querySelector(arguments[0] + ' .comment').textContent;",
        json!([row]),
    );
    assert_eq!(comment, json!(PAYLOAD));
    assert_inert(&browser);
    assert_eq!(sandbox.cron_entries(&user), ["0 4 * * * echo hello-from-ui"]);

    // The free five-field input, and MAILTO.
    browser.select(&format!("{form} select[name=every]"), "custom");
    browser.type_into(&format!("{form} input[name=custom]"), "*/15 * * * *");
    browser.type_into(&format!("{form} input[name=command]"), "true");
    browser.click(&format!("{form} button[type=submit]"));
    row_key(&browser, "table.cron-jobs", "*/15 * * * *");
    assert_eq!(sandbox.cron_entries(&user), ["0 4 * * * echo hello-from-ui", "*/15 * * * * true"]);
    browser.type_into("form[data-form=mailto] input[name=mailto]", &format!("ops@{domain}"));
    browser.click("form[data-form=mailto] button[type=submit]");
    browser.wait_until(
        "document.querySelector('.notices').textContent.includes('Output now goes to')",
        "MAILTO saved",
    );
    let crontab = sandbox.crontab(&user).unwrap();
    assert!(crontab.contains(&format!("\nMAILTO=ops@{domain}\n")), "{crontab}");
    shot(&browser, "user-cron");

    // Edit the daily job to weekly on Monday at 04:00.
    click_centred(&browser, &format!("button[data-action=edit][data-id=\"{job}\"]"));
    browser.select("form[data-form=edit-job] select[name=every]", "weekly");
    browser.click("form[data-form=edit-job] button[type=submit]");
    browser.wait_until(
        &format!("document.querySelector('{row}').textContent.includes('Every Monday at 04:00')"),
        "the weekly job",
    );
    assert_eq!(sandbox.cron_entries(&user)[0], "0 4 * * 1 echo hello-from-ui");

    // Phone width, dark theme.
    browser.set_window_size(390, 844);
    browser.prefer_dark(true);
    browser.goto(&format!("{}/#/cron", sandbox.info.user_url));
    browser.find(&row);
    shot(&browser, "user-cron-phone-dark");
    browser.goto(&format!("{}/#/dns", sandbox.info.user_url));
    browser.find("table.dns-records");
    shot(&browser, "user-dns-phone-dark");
    browser.set_window_size(1280, 900);
    browser.prefer_dark(false);

    // Staff see the same pages for the account on the admin port.
    browser.log_in(&sandbox.info.admin_url, &sandbox.info.admin_user, &sandbox.info.admin_password);
    browser.goto(&format!("{}/#/dns?user={user}&zone={domain}", sandbox.info.admin_url));
    row_key(&browser, "table.dns-records", &format!("10 mail.{domain}."));
    browser.goto(&format!("{}/#/cron?user={user}", sandbox.info.admin_url));
    assert_eq!(row_key(&browser, "table.cron-jobs", "echo hello-from-ui"), job);
    shot(&browser, "admin-cron");
}

/// Drops `name` with `content` on the file manager's drop zone, as a user's
/// drag and drop would: a `DataTransfer` holding a `File`, then the three events.
fn drop_file(browser: &Browser, name: &str, content: &str) {
    browser.find(".dropzone");
    browser.script(
        "const dt = new DataTransfer(); \
         dt.items.add(new File([arguments[1]], arguments[0], { type: 'text/plain' })); \
         const zone = document.querySelector('.dropzone'); \
         for (const type of ['dragenter', 'dragover', 'drop']) { \
           zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt })); \
         }",
        json!([name, content]),
    );
}

#[test]
fn a_user_manages_databases_and_files_through_the_pages() {
    let sandbox = Sandbox::start();
    let admin = sandbox.admin();
    let user = unique("uifiles");
    let domain = format!("{user}.test");
    let password = sandbox.create_account(&admin, &user, &domain);
    let browser = Browser::start();
    browser.log_in(&sandbox.info.user_url, &user, &password);

    // Mail: a mailbox made on the page logs in over IMAP; a forwarder is listed.
    browser.click("nav a[data-page=mail]");
    let form = "form[data-form=create-mailbox]";
    browser.type_into(&format!("{form} input[name=user]"), "info");
    browser.type_into(&format!("{form} input[name=password]"), "Mail-Pass-2026!");
    browser.click(&format!("{form} button[type=submit]"));
    let email = format!("info@{domain}");
    browser.find(&format!("table.mailboxes tr[data-key=\"{email}\"]"));
    let imap = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-u", &format!("{email}:Mail-Pass-2026!")])
        .arg(format!("imap://127.0.0.1:{}/INBOX", sandbox.info.imap_port))
        .output()
        .unwrap();
    assert!(imap.status.success(), "IMAP login: {}", String::from_utf8_lossy(&imap.stderr));
    let form = "form[data-form=create-forwarder]";
    browser.type_into(&format!("{form} input[name=user]"), "sales");
    browser.type_into(&format!("{form} textarea[name=dest]"), &email);
    browser.click(&format!("{form} button[type=submit]"));
    browser.find(&format!("table.forwarders tr[data-key=\"sales@{domain}\"]"));
    shot(&browser, "user-mail");

    // Databases: the prefix is shown, the suffix typed; a user granted ALL logs in.
    browser.click("nav a[data-page=databases]");
    let prefix = browser.text("form[data-form=create-db] .prefix");
    assert_eq!(prefix, format!("{user}_"));
    browser.type_into("form[data-form=create-db] input[name=suffix]", "shop");
    browser.click("form[data-form=create-db] button[type=submit]");
    let db = format!("{user}_shop");
    browser.find(&format!("table.databases tr[data-key=\"{db}\"]"));
    let db_user = format!("{user}_app");
    let db_password = "Db-Pass-2026!x";
    browser.type_into("form[data-form=create-user] input[name=suffix]", "app");
    browser.type_into("form[data-form=create-user] input[name=password]", db_password);
    browser.click("form[data-form=create-user] button[type=submit]");
    let user_row = format!("table.db-users tr[data-key=\"{db_user}\"]");
    browser.find(&user_row);
    let denied = sandbox.mysql_as(&db_user, db_password, &db, "SELECT 1");
    assert!(!denied.status.success(), "no grant yet, yet the user got in");
    browser.select("form[data-form=grant] select[name=user]", &db_user);
    browser.select("form[data-form=grant] select[name=db]", &db);
    click_centred(&browser, "form[data-form=grant] button[type=submit]");
    browser.wait_until(
        &format!("document.querySelector('{user_row} .grants')?.textContent.includes('ALL')"),
        "the grant listed",
    );
    let out = sandbox.mysql_as(&db_user, db_password, &db, "SELECT 1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    browser.script("window.scrollTo(0, 0);", json!([]));
    shot(&browser, "user-databases");

    // Files: a file dropped on the list is uploaded into the home and listed.
    browser.click("nav a[data-page=files]");
    drop_file(&browser, "notes.txt", "first version\n");
    row_key(&browser, "table.files", "notes.txt");
    let on_disk = sandbox.root.join("home").join(&user).join("notes.txt");
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "first version\n");

    // Edit it in the page: the file on disk changes and still belongs to the user.
    click_centred(&browser, "table.files button[data-action=edit][data-name=\"notes.txt\"]");
    let editor = "form[data-form=edit-file] textarea";
    browser.wait_until(
        &format!("document.querySelector('{editor}')?.value === 'first version\\n'"),
        "the file in the editor",
    );
    shot(&browser, "user-files-editor");
    browser.type_into(editor, "second version, saved from the page");
    browser.click("form[data-form=edit-file] button[type=submit]");
    browser.wait_until(
        "document.querySelector('.notices').textContent.includes('was saved')",
        "the file saved",
    );
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "second version, saved from the page");
    let uid = std::process::Command::new("id").args(["-u", &user]).output().unwrap();
    let uid: u32 = String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap();
    assert_eq!(std::fs::metadata(&on_disk).unwrap().uid(), uid);
    browser.click("form[data-form=edit-file] button.secondary");
    assert!(!browser.exists("form[data-form=edit-file]"), "the editor stays open after Close");

    // The download link serves the new content with the session cookie alone.
    let downloaded = browser.script(
        "return fetch(document.querySelector(arguments[0]).href).then(r => r.text());",
        json!(["table.files a[data-action=download][data-name=\"notes.txt\"]"]),
    );
    assert_eq!(downloaded, json!("second version, saved from the page"));

    // Permissions in octal; a new folder, entered and left through the breadcrumbs.
    click_centred(&browser, "table.files button[data-action=chmod][data-name=\"notes.txt\"]");
    browser.type_into("form[data-form=chmod] input[name=mode]", "0600");
    browser.click("form[data-form=chmod] button[type=submit]");
    browser.wait_until(
        "document.querySelector('.notices').textContent.includes('now has mode 0600')",
        "the mode changed",
    );
    assert_eq!(std::fs::metadata(&on_disk).unwrap().mode() & 0o7777, 0o600);
    click_centred(&browser, "button[data-action=mkdir]");
    browser.type_into("form[data-form=mkdir] input[name=name]", "site");
    browser.click("form[data-form=mkdir] button[type=submit]");
    click_centred(&browser, "table.files a.name.dir[href$=\"path=%2Fsite\"]");
    browser.wait_until(
        "document.querySelector('.breadcrumbs [aria-current]')?.textContent === 'site'",
        "the folder opened",
    );
    browser.find("table.files, main .empty");
    assert!(sandbox.root.join("home").join(&user).join("site").is_dir());
    browser.click(".breadcrumbs a");
    row_key(&browser, "table.files", "notes.txt");

    // A file name full of markup is listed as text.
    let marked = "<script>x<img src=x onerror=window.hsInjected=1><b class=evil>b.txt";
    drop_file(&browser, marked, "markup\n");
    row_key(&browser, "table.files", marked);
    assert_inert(&browser);
    assert!(sandbox.root.join("home").join(&user).join(marked).is_file());
    browser.script("window.scrollTo(0, 0);", json!([]));
    shot(&browser, "user-files");

    // Phone width, dark theme.
    browser.set_window_size(390, 844);
    browser.prefer_dark(true);
    browser.goto(&format!("{}/#/files", sandbox.info.user_url));
    row_key(&browser, "table.files", "notes.txt");
    shot(&browser, "user-files-phone-dark");
    browser.goto(&format!("{}/#/databases", sandbox.info.user_url));
    browser.find(&user_row);
    shot(&browser, "user-databases-phone-dark");
    browser.set_window_size(1280, 900);
    browser.prefer_dark(false);

    // Staff see the same pages for the account on the admin port.
    browser.log_in(&sandbox.info.admin_url, &sandbox.info.admin_user, &sandbox.info.admin_password);
    browser.goto(&format!("{}/#/databases?user={user}", sandbox.info.admin_url));
    browser.find(&user_row);
    browser.goto(&format!("{}/#/files?user={user}", sandbox.info.admin_url));
    row_key(&browser, "table.files", "notes.txt");
    shot(&browser, "admin-files");
}
