//! The account's websites as nginx and PHP-FPM see them: one map file per hosted
//! name, one pool per account. Rendering is pure; applying goes through the pipeline.

use std::path::Path;

use hs_automation::{Applied, FileChange};
use hs_config::render::{self, PhpPool, SiteAction, SiteMap, WebLayout};
use hs_config::state::{Account, Domain, DomainKind};
use hs_config::{Templates, fsutil};
use hs_types::DomainName;

use crate::context::Panel;
use crate::error::{ModuleError, Result};

/// The `hspanel.conf` layout and the suspended page. Written at start-up only.
pub fn install_layout(panel: &Panel) -> Result<()> {
    let layout = &panel.layout;
    let view = WebLayout {
        http_listen: panel.config.web.http_listen.clone(),
        site_maps: layout.nginx_site_maps(),
        log_dir: layout.nginx_logs(),
        suspended_dir: layout.suspended_page_dir(),
        php_sockets: layout.php_sockets(),
        https_listen: panel.config.web.https_listen.clone(),
        ssl_dir: layout.ssl_certs(),
        cert_maps: layout.nginx_cert_maps(),
        acme_webroot: layout.acme_webroot(),
    };
    // HS::SSL: the certificate folders and the fallback certificate first, so
    // the layout that names them passes `nginx -t`.
    crate::ssl::install_layout(panel)?;
    let templates = panel.templates()?;
    let text = render::nginx_layout(&templates, &view)?;
    let path = layout.nginx_panel_conf();
    fsutil::write_keeping_backup(&path, text.as_bytes(), 0o644).map_err(ModuleError::internal)?;

    // The page a suspended site shows: a template an administrator may replace.
    let page = layout.suspended_page_dir().join("index.html");
    let html = templates.source("share/suspended.html").unwrap_or_default();
    fsutil::write_atomic(&page, html.as_bytes(), 0o644).map_err(ModuleError::internal)?;
    for dir in [layout.nginx_site_maps(), layout.php_sockets(), layout.nginx_logs()] {
        std::fs::create_dir_all(&dir).map_err(ModuleError::internal)?;
    }
    Ok(())
}

/// What nginx should do for `domain`, given the account and all its domains.
fn action_for(
    home: &Path,
    account: &Account,
    domain: &Domain,
    all: &[Domain],
) -> Result<SiteAction> {
    if account.suspended.is_some() {
        return Ok(SiteAction::Suspended);
    }
    // A parked name behaves exactly like the domain it is parked on.
    let effective = match &domain.kind {
        DomainKind::Parked { target } => all
            .iter()
            .find(|d| &d.domain == target)
            .ok_or_else(|| ModuleError::Internal(format!("{target} is missing")))?,
        _ => domain,
    };
    if let Some(redirect) = &effective.redirect {
        return Ok(SiteAction::Redirect { url: redirect.url.clone(), status: redirect.status });
    }
    let rel = effective.docroot_rel().ok_or_else(|| ModuleError::Internal("no site".into()))?;
    Ok(SiteAction::Serve { docroot: home.join(rel) })
}

/// The map files for `names` (each a domain of the account), rendered.
pub fn site_changes(
    panel: &Panel,
    templates: &Templates,
    account: &Account,
    all: &[Domain],
    names: &[DomainName],
) -> Result<Vec<FileChange>> {
    let home = panel.layout.home(&account.username);
    let mut changes = Vec::new();
    for name in names {
        let domain = all
            .iter()
            .find(|d| &d.domain == name)
            .ok_or_else(|| ModuleError::Internal(format!("{name} is not in the state")))?;
        let action = action_for(&home, account, domain, all)?;
        let mut hosts = vec![domain.domain.clone()];
        if let Ok(www) = format!("www.{}", domain.domain).parse::<DomainName>() {
            hosts.push(www);
        }
        let view = SiteMap {
            domain: domain.domain.clone(),
            hosts,
            user: account.username.clone(),
            action,
        };
        let text = render::nginx_site_map(templates, &view)?;
        changes.push(FileChange::write(panel.layout.nginx_site_map(name), text));
        // HS::SSL: a new name's self-signed certificate, in the same change.
        changes.extend(crate::ssl::new_site_changes(panel, name)?);
    }
    Ok(changes)
}

/// Every domain of the account whose map depends on `name`: itself and the
/// names parked on it.
pub fn dependents(all: &[Domain], name: &DomainName) -> Vec<DomainName> {
    let mut names = vec![name.clone()];
    for d in all {
        if matches!(&d.kind, DomainKind::Parked { target } if target == name) {
            names.push(d.domain.clone());
        }
    }
    names
}

pub fn pool_change(panel: &Panel, templates: &Templates, account: &Account) -> Result<FileChange> {
    let user = &account.username;
    let view = PhpPool {
        user: user.clone(),
        home: panel.layout.home(user),
        socket: panel.layout.php_socket(user),
        web_user: panel.config.web.web_user.clone(),
        max_children: panel.config.php.max_children,
    };
    let text = render::php_pool(templates, &view)?;
    Ok(FileChange::write(panel.layout.php_pool_file(&panel.config.php.version, user), text))
}

pub fn apply_nginx(panel: &Panel, changes: &[FileChange]) -> Result<Applied> {
    Ok(panel.pipeline.apply("nginx", changes)?)
}

pub fn apply_php(panel: &Panel, changes: &[FileChange]) -> Result<Applied> {
    Ok(panel.pipeline.apply("php-fpm", changes)?)
}
