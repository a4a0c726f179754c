//! Layer 1, the UI: the admin and user portals as static assets compiled into the
//! daemon. The pages call the same JSON API as every other client, so the UI can
//! do nothing the API does not allow.
//!
//! One set of assets serves both ports: the page asks `auth/whoami` who is logged
//! in and shows that portal's menu. `app.js` is the core (API calls, an element
//! builder, the router, forms, dialogs, notices); each module's page is one script
//! under `assets/pages/` that registers itself with `HS.page({...})`, plus one row
//! in [`PAGES`].
//!
//! Invariants: no inline script or style (the [`CONTENT_SECURITY_POLICY`] forbids
//! both); data reaches the page only as text nodes or attribute values, never as
//! markup; the session token lives in an `HttpOnly` cookie, never in script.

use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub mime: &'static str,
    pub body: &'static [u8],
}

/// Scripts and styles come only from this server; no inline script runs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The pages, in the order their scripts load: `(name, script)`, served at
/// `/ui/pages/{name}.js`. A new module's page is one file and one row here.
pub const PAGES: &[(&str, &str)] = &[
    ("dashboard", include_str!("../assets/pages/dashboard.js")),
    ("accounts", include_str!("../assets/pages/accounts.js")),
    ("resellers", include_str!("../assets/pages/resellers.js")),
    ("plans", include_str!("../assets/pages/plans.js")),
    ("domains", include_str!("../assets/pages/domains.js")),
    ("dns", include_str!("../assets/pages/dns.js")),
    ("cron", include_str!("../assets/pages/cron.js")),
    ("databases", include_str!("../assets/pages/databases.js")),
    ("mail", include_str!("../assets/pages/mail.js")),
    ("files", include_str!("../assets/pages/files.js")),
    ("ssl", include_str!("../assets/pages/ssl.js")),
    ("backups", include_str!("../assets/pages/backups.js")),
    ("security", include_str!("../assets/pages/security.js")),
    ("tasks", include_str!("../assets/pages/tasks.js")),
    ("plugins", include_str!("../assets/pages/plugins.js")),
];

const INDEX_TEMPLATE: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
/// SVG charts for the dashboards (`HSChart`), drawn without markup parsing.
const CHART_JS: &str = include_str!("../assets/chart.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const ICON: &str = include_str!("../assets/icon.svg");

/// Where `index.html` gets one `<script>` tag per page.
const PAGES_MARKER: &str = "<!-- pages -->";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The asset served at `path`, if any.
pub fn asset(path: &str) -> Option<Asset> {
    let (mime, body) = match path {
        "/" | "/index.html" => (HTML, index()),
        "/ui/app.js" => (JS, APP_JS),
        "/ui/chart.js" => (JS, CHART_JS),
        "/ui/app.css" => (CSS, APP_CSS),
        "/ui/icon.svg" => (SVG, ICON),
        _ => {
            let name = path.strip_prefix("/ui/pages/")?.strip_suffix(".js")?;
            let (_, script) = PAGES.iter().find(|(page, _)| *page == name)?;
            (JS, *script)
        }
    };
    Some(Asset { mime, body: body.as_bytes() })
}

/// `index.html` with the page scripts listed, built once. Every script is
/// `defer`red, so the browser fetches them all at once and runs them in order.
fn index() -> &'static str {
    static INDEX: OnceLock<String> = OnceLock::new();
    INDEX.get_or_init(|| {
        let tags: Vec<String> = PAGES
            .iter()
            .map(|(name, _)| format!("<script defer src=\"/ui/pages/{name}.js\"></script>"))
            .collect();
        INDEX_TEMPLATE.replace(PAGES_MARKER, &tags.join("\n"))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(path: &str) -> String {
        String::from_utf8(asset(path).unwrap().body.to_vec()).unwrap()
    }

    #[test]
    fn every_path_has_its_type() {
        let cases = [
            ("/", Some(HTML)),
            ("/index.html", Some(HTML)),
            ("/ui/app.js", Some(JS)),
            ("/ui/app.css", Some(CSS)),
            ("/ui/chart.js", Some(JS)),
            ("/ui/icon.svg", Some(SVG)),
            ("/ui/pages/domains.js", Some(JS)),
            ("/ui/pages/nope.js", None),
            ("/ui/pages/../app.js", None),
            ("/ui/pages/domains", None),
            ("/app.js", None),
        ];
        for (path, mime) in cases {
            assert_eq!(asset(path).map(|a| a.mime), mime, "{path}");
        }
    }

    #[test]
    fn index_loads_every_page_and_runs_no_inline_script() {
        let index = text("/");
        assert!(!index.contains(PAGES_MARKER));
        for (name, _) in PAGES {
            assert!(index.contains(&format!("src=\"/ui/pages/{name}.js\"")), "{name}");
        }
        // Every script comes from a file, and nothing is styled inline.
        assert_eq!(index.matches("<script").count(), index.matches("<script defer src=").count());
        assert!(!index.contains("style="));
        assert!(!index.contains("<style"));
        let handler = index.split_whitespace().any(|w| w.starts_with("on") && w.contains('='));
        assert!(!handler, "no inline event handlers");
    }

    #[test]
    fn scripts_never_parse_markup() {
        // Data reaches the page through text nodes only: these sinks would parse it.
        let sinks = [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute('style'",
            "createContextualFragment",
        ];
        let scripts =
            [("app", APP_JS), ("chart", CHART_JS)].into_iter().chain(PAGES.iter().copied());
        for (name, script) in scripts {
            for sink in sinks {
                assert!(!script.contains(sink), "{name} uses {sink}");
            }
        }
    }
}
