//! The template set: built-in defaults, overridden file by file by an administrator's
//! copies under `/usr/local/hspanel/templates/`.
//!
//! Loading reads files; rendering (in [`crate::render`]) does not. A template that
//! fails to load or render is an error for the caller, never a panic.

use std::collections::BTreeMap;
use std::path::Path;

use crate::StateError;

/// Every template the panel knows, with its built-in text.
const BUILTIN: &[(&str, &str)] = &[
    ("nginx/hspanel.conf.j2", include_str!("../templates/nginx/hspanel.conf.j2")),
    ("nginx/site.map.j2", include_str!("../templates/nginx/site.map.j2")),
    ("nginx/nginx.conf.j2", include_str!("../templates/nginx/nginx.conf.j2")),
    ("php-fpm/pool.conf.j2", include_str!("../templates/php-fpm/pool.conf.j2")),
    ("php-fpm/php-fpm.conf.j2", include_str!("../templates/php-fpm/php-fpm.conf.j2")),
    ("share/suspended.html", include_str!("../templates/share/suspended.html")),
    ("bind/zone.db.j2", include_str!("../templates/bind/zone.db.j2")),
    ("bind/hspanel-zones.conf.j2", include_str!("../templates/bind/hspanel-zones.conf.j2")),
    ("bind/named.conf.j2", include_str!("../templates/bind/named.conf.j2")),
    ("dns/default.zone", include_str!("../templates/dns/default.zone.j2")),
    ("mysql/my.cnf.j2", include_str!("../templates/mysql/my.cnf.j2")),
];

/// Record templates: `dns/{name}.zone` under the template folder, the built-in
/// `default` unless the administrator replaced it. `None` when there is none.
pub fn dns_record_template(dir: &Path, name: &str) -> Result<Option<String>, StateError> {
    let path = dir.join("dns").join(format!("{name}.zone"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let builtin = BUILTIN.iter().find(|(n, _)| *n == "dns/default.zone");
            Ok(builtin.filter(|_| name == "default").map(|(_, text)| (*text).to_string()))
        }
        Err(e) => Err(StateError::io(&path, e)),
    }
}

#[derive(Debug, Clone)]
pub struct Templates {
    sources: BTreeMap<&'static str, String>,
}

impl Templates {
    /// The built-in set alone.
    pub fn builtin() -> Templates {
        let sources = BUILTIN.iter().map(|(name, text)| (*name, (*text).to_string())).collect();
        Templates { sources }
    }

    /// The built-in set with every override found in `dir` applied.
    pub fn load(dir: &Path) -> Result<Templates, StateError> {
        let mut templates = Templates::builtin();
        for (name, text) in templates.sources.iter_mut() {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(custom) => *text = custom,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StateError::io(&path, e)),
            }
        }
        Ok(templates)
    }

    pub fn source(&self, name: &str) -> Option<&str> {
        self.sources.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sources.keys().copied()
    }
}
