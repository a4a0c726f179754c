//! Where everything lives: the spec's system paths, or the same tree under a sandbox root.
//!
//! There is one code path for both layouts. A [`Layout`] is a root folder (`/` on a
//! real server) and every path the panel touches is that root joined with the spec's
//! path. Nothing else in the workspace spells out an absolute path.

use std::path::{Path, PathBuf};

use hs_types::{DomainName, Username};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// The spec's paths on a real server; services are the distribution's.
    System,
    /// Everything below one folder; the panel starts private service instances.
    Sandbox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
    kind: LayoutKind,
}

impl Layout {
    pub fn system() -> Layout {
        Layout { root: PathBuf::from("/"), kind: LayoutKind::System }
    }

    pub fn sandbox(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into(), kind: LayoutKind::Sandbox }
    }

    pub fn kind(&self) -> LayoutKind {
        self.kind
    }

    pub fn is_sandbox(&self) -> bool {
        self.kind == LayoutKind::Sandbox
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` is one of the spec's absolute paths, written without the leading slash.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    // --- panel state -------------------------------------------------------------

    pub fn panel_config(&self) -> PathBuf {
        self.path("etc/hspanel/hspanel.yaml")
    }

    pub fn hspanel_var(&self) -> PathBuf {
        self.path("var/hspanel")
    }

    pub fn userdata(&self) -> PathBuf {
        self.path("var/hspanel/userdata")
    }

    pub fn user_dir(&self, user: &Username) -> PathBuf {
        self.userdata().join(user.as_str())
    }

    pub fn account_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("account.yaml")
    }

    pub fn domain_file(&self, user: &Username, domain: &DomainName) -> PathBuf {
        self.user_dir(user).join(format!("{}.yaml", domain.as_str()))
    }

    /// One small file per hosted domain naming its owner: claiming a domain is an
    /// exclusive create, so two accounts can never own the same name.
    pub fn domain_claim(&self, domain: &DomainName) -> PathBuf {
        self.path("var/hspanel/domains").join(domain.as_str())
    }

    pub fn domain_claims(&self) -> PathBuf {
        self.path("var/hspanel/domains")
    }

    pub fn packages(&self) -> PathBuf {
        self.path("var/hspanel/packages")
    }

    pub fn journal(&self) -> PathBuf {
        self.path("var/hspanel/journal")
    }

    pub fn locks(&self) -> PathBuf {
        self.path("var/hspanel/locks")
    }

    pub fn auth_dir(&self) -> PathBuf {
        self.path("var/hspanel/auth")
    }

    pub fn queue(&self) -> PathBuf {
        self.path("var/hspanel/queue")
    }

    // --- panel installation --------------------------------------------------------

    pub fn templates(&self) -> PathBuf {
        self.path("usr/local/hspanel/templates")
    }

    pub fn panel_logs(&self) -> PathBuf {
        self.path("usr/local/hspanel/logs")
    }

    pub fn plugins(&self) -> PathBuf {
        self.path("usr/local/hspanel/plugins")
    }

    pub fn share(&self) -> PathBuf {
        self.path("usr/local/hspanel/share")
    }

    pub fn suspended_page_dir(&self) -> PathBuf {
        self.share().join("suspended")
    }

    // --- accounts' files -----------------------------------------------------------

    pub fn homes(&self) -> PathBuf {
        self.path("home")
    }

    pub fn home(&self, user: &Username) -> PathBuf {
        self.homes().join(user.as_str())
    }

    // --- services ------------------------------------------------------------------

    pub fn nginx_dir(&self) -> PathBuf {
        self.path("etc/nginx")
    }

    /// The http-level include that carries the panel's whole web layout.
    pub fn nginx_panel_conf(&self) -> PathBuf {
        self.path("etc/nginx/conf.d/hspanel.conf")
    }

    /// One map file per hosted name: the only nginx file a domain change touches.
    pub fn nginx_site_maps(&self) -> PathBuf {
        self.path("etc/nginx/hspanel/sites")
    }

    pub fn nginx_site_map(&self, domain: &DomainName) -> PathBuf {
        self.nginx_site_maps().join(format!("{}.map", domain.as_str()))
    }

    pub fn nginx_logs(&self) -> PathBuf {
        self.path("var/log/nginx")
    }

    pub fn php_fpm_dir(&self, version: &str) -> PathBuf {
        self.path(&format!("etc/php/{version}/fpm"))
    }

    pub fn php_pool_file(&self, version: &str, user: &Username) -> PathBuf {
        self.php_fpm_dir(version).join("pool.d").join(format!("hs-{}.conf", user.as_str()))
    }

    pub fn php_sockets(&self) -> PathBuf {
        self.path("run/hspanel/php")
    }

    pub fn php_socket(&self, user: &Username) -> PathBuf {
        self.php_sockets().join(format!("{}.sock", user.as_str()))
    }

    /// MariaDB's unix socket, through which the panel administers it as root.
    pub fn mysql_socket(&self) -> PathBuf {
        self.path("run/mysqld/mysqld.sock")
    }

    /// The private MariaDB's config file (sandbox only; a real server keeps its own).
    pub fn mysql_conf(&self) -> PathBuf {
        self.path("etc/mysql/hspanel.cnf")
    }

    pub fn mysql_datadir(&self) -> PathBuf {
        self.path("var/lib/mysql")
    }

    pub fn mysql_logs(&self) -> PathBuf {
        self.path("var/log/mysql")
    }

    /// What the panel created in MariaDB for one account (HS::Database).
    pub fn databases_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("databases.yaml")
    }

    /// Private instances' own pid files, sockets and logs (sandbox only).
    pub fn sandbox_run(&self) -> PathBuf {
        self.path("run/hspanel")
    }

    pub fn sandbox_file(&self) -> PathBuf {
        self.root.join("sandbox.json")
    }

    /// Test-only fault injection point (honoured in the sandbox layout only).
    pub fn fault_file(&self) -> PathBuf {
        self.path("var/hspanel/fault")
    }
}
