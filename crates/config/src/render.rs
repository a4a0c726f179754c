//! Renderers: a typed, validated view in, config text out. No file access, no
//! panics; the only failure is a template that does not render.
//!
//! Views hold values that were validated before they got here (usernames, domain
//! names, URLs, paths the panel built itself), so a template never has to escape.

use std::path::PathBuf;

use hs_types::{DomainName, RedirectStatus, RedirectUrl, Username};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::templates::Templates;

#[derive(Debug, thiserror::Error)]
#[error("template {template} failed to render: {reason}")]
pub struct RenderError {
    pub template: String,
    pub reason: String,
}

fn render<S: Serialize>(templates: &Templates, name: &str, ctx: S) -> Result<String, RenderError> {
    let fail = |reason: String| RenderError { template: name.to_string(), reason };
    let compiled = templates.compiled();
    if let Some(reason) = compiled.broken.get(name) {
        return Err(fail(reason.clone()));
    }
    let template = compiled.env.get_template(name).map_err(|e| fail(e.to_string()))?;
    template.render(minijinja::value::Serde(ctx)).map_err(|e| fail(e.to_string()))
}

/// An environment with the panel's settings: undefined values are errors, and a
/// template's trailing newline is kept.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = minijinja::syntax::SyntaxConfig::builder().keep_trailing_newline(true).build();
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    env
}

/// Renders a template given as text (record templates, loaded per use).
fn render_source<S: Serialize>(name: &str, source: &str, ctx: S) -> Result<String, RenderError> {
    let fail = |reason: String| RenderError { template: name.to_string(), reason };
    let mut env = environment();
    env.add_template(name, source).map_err(|e| fail(e.to_string()))?;
    let template = env.get_template(name).map_err(|e| fail(e.to_string()))?;
    template.render(minijinja::value::Serde(ctx)).map_err(|e| fail(e.to_string()))
}

/// The server-wide web layout: the catch-all server and the host maps.
#[derive(Debug, Clone, Serialize)]
pub struct WebLayout {
    pub http_listen: String,
    pub site_maps: PathBuf,
    pub log_dir: PathBuf,
    pub suspended_dir: PathBuf,
    pub php_sockets: PathBuf,
}

pub fn nginx_layout(templates: &Templates, view: &WebLayout) -> Result<String, RenderError> {
    render(templates, "nginx/hspanel.conf.j2", view)
}

/// What the web server does for one hosted name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteAction {
    /// Serve files from `docroot`, PHP through the account's pool.
    Serve {
        docroot: PathBuf,
    },
    /// The account is suspended: the suspended page, status 503.
    Suspended,
    Redirect {
        url: RedirectUrl,
        status: RedirectStatus,
    },
}

#[derive(Debug, Clone)]
pub struct SiteMap {
    pub domain: DomainName,
    /// The names this entry answers for (the domain, and `www.` in front of it).
    pub hosts: Vec<DomainName>,
    pub user: Username,
    pub action: SiteAction,
}

pub fn nginx_site_map(templates: &Templates, site: &SiteMap) -> Result<String, RenderError> {
    let (kind, target) = match &site.action {
        SiteAction::Serve { docroot } => ("site", docroot.display().to_string()),
        SiteAction::Suspended => ("suspended", String::new()),
        SiteAction::Redirect { url, status } => match status {
            RedirectStatus::Permanent => ("r301", url.as_str().to_string()),
            RedirectStatus::Temporary => ("r302", url.as_str().to_string()),
        },
    };
    #[derive(Serialize)]
    struct Ctx<'a> {
        domain: &'a str,
        hosts: Vec<&'a str>,
        kind: &'a str,
        user: &'a str,
        target: String,
    }
    let ctx = Ctx {
        domain: site.domain.as_str(),
        hosts: site.hosts.iter().map(DomainName::as_str).collect(),
        kind,
        user: site.user.as_str(),
        target,
    };
    render(templates, "nginx/site.map.j2", ctx)
}

/// The main config of a sandbox's private nginx.
#[derive(Debug, Clone, Serialize)]
pub struct NginxMain {
    pub workers: u32,
    pub run_dir: PathBuf,
    pub log_dir: PathBuf,
    pub tmp_dir: PathBuf,
    pub conf_d: PathBuf,
    pub web_user: String,
}

pub fn nginx_main(templates: &Templates, view: &NginxMain) -> Result<String, RenderError> {
    render(templates, "nginx/nginx.conf.j2", view)
}

#[derive(Debug, Clone, Serialize)]
pub struct PhpPool {
    pub user: Username,
    pub home: PathBuf,
    pub socket: PathBuf,
    pub web_user: String,
    pub max_children: u32,
}

pub fn php_pool(templates: &Templates, view: &PhpPool) -> Result<String, RenderError> {
    render(templates, "php-fpm/pool.conf.j2", view)
}

/// The main config of a sandbox's private PHP-FPM.
#[derive(Debug, Clone, Serialize)]
pub struct PhpFpmMain {
    pub pid_file: PathBuf,
    pub panel_socket: PathBuf,
    pub log_dir: PathBuf,
    pub pool_dir: PathBuf,
    pub web_user: String,
}

pub fn php_fpm_main(templates: &Templates, view: &PhpFpmMain) -> Result<String, RenderError> {
    render(templates, "php-fpm/php-fpm.conf.j2", view)
}

/// One zone file. Every value was validated before it got here: record values
/// are in their canonical zone-file form, quoted and escaped where needed.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneFile {
    pub domain: String,
    pub serial: u32,
    /// `ns1.{hostname}.`
    pub primary_ns: String,
    /// `admin.{domain}.`
    pub hostmaster: String,
    pub default_ttl: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
    pub records: Vec<ZoneLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneLine {
    pub name: String,
    pub ttl: u32,
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
}

pub fn zone_file(templates: &Templates, view: &ZoneFile) -> Result<String, RenderError> {
    render(templates, "bind/zone.db.j2", view)
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneDecl {
    pub name: String,
    pub file: PathBuf,
    /// BIND's `dnssec-policy` for the zone (`default`, `insecure`), signed inline
    /// with its keys in `key_dir`; `None` for an unsigned zone.
    pub dnssec_policy: Option<String>,
    pub key_dir: PathBuf,
}

/// `hspanel-zones.conf`: one declaration per zone.
pub fn bind_zones(templates: &Templates, zones: &[ZoneDecl]) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        zones: &'a [ZoneDecl],
    }
    render(templates, "bind/hspanel-zones.conf.j2", Ctx { zones })
}

/// The main config of a sandbox's private named.
#[derive(Debug, Clone, Serialize)]
pub struct NamedMain {
    pub rndc_key: PathBuf,
    pub key_name: String,
    pub work_dir: PathBuf,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
    /// BIND's query log, followed by hs-logd.
    pub query_log: PathBuf,
    pub port: u16,
    pub rndc_port: u16,
    pub conf_local: PathBuf,
}

pub fn named_main(templates: &Templates, view: &NamedMain) -> Result<String, RenderError> {
    render(templates, "bind/named.conf.j2", view)
}

/// What a record template may use.
#[derive(Debug, Clone, Serialize)]
pub struct DnsTemplateVars {
    pub domain: String,
    pub hostname: String,
    pub server_ip: String,
    /// `A` or `AAAA`, after the server's address.
    pub address_type: String,
}

/// Renders a record template (a master-file fragment) given its text.
pub fn dns_records(
    name: &str,
    source: &str,
    vars: &DnsTemplateVars,
) -> Result<String, RenderError> {
    render_source(name, source, vars)
}

/// The config of a sandbox's private MariaDB.
#[derive(Debug, Clone, Serialize)]
pub struct MysqlMain {
    pub datadir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
    /// Private temporary files: instances sharing `/tmp` collide during bootstrap.
    pub tmp_dir: PathBuf,
    pub port: u16,
}

pub fn mysql_main(templates: &Templates, view: &MysqlMain) -> Result<String, RenderError> {
    render(templates, "mysql/my.cnf.j2", view)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn site(action: SiteAction) -> String {
        let domain: DomainName = "alice.test".parse().unwrap();
        let www: DomainName = "www.alice.test".parse().unwrap();
        let view = SiteMap {
            domain: domain.clone(),
            hosts: vec![domain, www],
            user: "alice".parse().unwrap(),
            action,
        };
        nginx_site_map(&Templates::builtin(), &view).unwrap()
    }

    #[test]
    fn site_map_lines() {
        let served = site(SiteAction::Serve { docroot: "/home/alice/public_html".into() });
        assert!(served.contains("alice.test \"site|alice|/home/alice/public_html\";\n"));
        assert!(served.contains("www.alice.test \"site|alice|/home/alice/public_html\";\n"));

        assert!(site(SiteAction::Suspended).contains("alice.test \"suspended|alice|\";"));

        let url: RedirectUrl = "https://example.org/x".parse().unwrap();
        let moved = site(SiteAction::Redirect { url, status: RedirectStatus::Temporary });
        assert!(moved.contains("alice.test \"r302|alice|https://example.org/x\";"));
    }

    #[test]
    fn zone_file_lines() {
        let view = ZoneFile {
            domain: "alice.test".into(),
            serial: 2026120300,
            primary_ns: "ns1.server.test.".into(),
            hostmaster: "admin.alice.test.".into(),
            default_ttl: 14400,
            refresh: 3600,
            retry: 1800,
            expire: 604800,
            minimum: 86400,
            records: vec![ZoneLine {
                name: "_dmarc".into(),
                ttl: 300,
                rtype: "TXT".into(),
                value: "\"v=DMARC1; p=none\"".into(),
            }],
        };
        let text = zone_file(&Templates::builtin(), &view).unwrap();
        assert!(text.contains("$ORIGIN alice.test.\n$TTL 14400\n"), "{text}");
        assert!(text.contains("\t\t2026120300\t; Serial (YYYYMMDDNN)\n"), "{text}");
        assert!(text.contains("_dmarc\t300\tIN\tTXT\t\"v=DMARC1; p=none\"\n"), "{text}");

        let decl = |name: &str, policy: Option<&str>| ZoneDecl {
            name: name.into(),
            file: format!("/var/named/{name}.db").into(),
            dnssec_policy: policy.map(str::to_string),
            key_dir: "/var/named/keys".into(),
        };
        let decls = [decl("alice.test", None), decl("bob.test", Some("default"))];
        let conf = bind_zones(&Templates::builtin(), &decls).unwrap();
        assert!(conf.contains(
            "zone \"alice.test\" { type primary; file \"/var/named/alice.test.db\"; };\n"
        ));
        assert!(conf.contains(
            "zone \"bob.test\" { type primary; file \"/var/named/bob.test.db\"; \
             dnssec-policy default; inline-signing yes; key-directory \"/var/named/keys\"; };\n"
        ));
    }

    #[test]
    fn mysql_main_listens_on_loopback_only() {
        let view = MysqlMain {
            datadir: "/tmp/hs1/var/lib/mysql".into(),
            socket: "/tmp/hs1/run/mysqld/mysqld.sock".into(),
            pid_file: "/tmp/hs1/run/mysqld/mysqld.pid".into(),
            log_file: "/tmp/hs1/var/log/mysql/error.log".into(),
            tmp_dir: "/tmp/hs1/tmp/mysql".into(),
            port: 13306,
        };
        let text = mysql_main(&Templates::builtin(), &view).unwrap();
        assert!(text.starts_with("# "), "{text}");
        assert!(text.contains("[mariadbd]\n"), "{text}");
        assert!(text.contains("\nport=13306\n"), "{text}");
        assert!(text.contains("\nbind-address=127.0.0.1\n"), "{text}");
        assert!(text.contains("\nsocket=/tmp/hs1/run/mysqld/mysqld.sock\n"), "{text}");
        assert!(text.contains("\nskip-name-resolve\n"), "{text}");
        assert!(text.contains("\ntmpdir=/tmp/hs1/tmp/mysql\n"), "{text}");
    }

    #[test]
    fn a_broken_template_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("nginx")).unwrap();
        std::fs::write(dir.path().join("nginx/site.map.j2"), "{% for %}").unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        let view = SiteMap {
            domain: "a.test".parse().unwrap(),
            hosts: vec![],
            user: "alice".parse().unwrap(),
            action: SiteAction::Suspended,
        };
        assert!(nginx_site_map(&templates, &view).is_err());
    }
}
