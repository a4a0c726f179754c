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
    /// Every template parsed once, on first use: rendering 10,000 site maps must not
    /// parse the same template 10,000 times. Syntax errors are kept per template.
    compiled: std::sync::Arc<std::sync::OnceLock<Compiled>>,
}

/// The parsed set, and the templates that did not parse with their errors.
pub(crate) struct Compiled {
    pub env: minijinja::Environment<'static>,
    pub broken: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled").field("broken", &self.broken).finish()
    }
}

impl Templates {
    /// The built-in set alone.
    pub fn builtin() -> Templates {
        let sources = BUILTIN.iter().map(|(name, text)| (*name, (*text).to_string())).collect();
        Templates { sources, compiled: Default::default() }
    }

    /// The templates parsed into one environment (strict about undefined values,
    /// keeping trailing newlines), built on first use.
    pub(crate) fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            let mut env = crate::render::environment();
            let mut broken = BTreeMap::new();
            for (name, text) in &self.sources {
                if let Err(e) = env.add_template_owned(*name, text.clone()) {
                    broken.insert(*name, e.to_string());
                }
            }
            Compiled { env, broken }
        })
    }

    /// The built-in set with every override found in `dir` applied.
    pub fn load(dir: &Path) -> Result<Templates, StateError> {
        let mut templates = Templates::builtin();
        templates.compiled = Default::default();
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
