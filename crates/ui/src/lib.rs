//! Layer 1, the UI: the admin and user portals as static assets compiled into the
//! daemon. The pages call the same JSON API as every other client, so the UI can
//! do nothing the API does not allow.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub mime: &'static str,
    pub body: &'static [u8],
}

/// Scripts and styles come only from this server; no inline script runs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const INDEX: &str = include_str!("../assets/index.html");

/// The asset served at `path`, if any.
pub fn asset(path: &str) -> Option<Asset> {
    match path {
        "/" | "/index.html" => {
            Some(Asset { mime: "text/html; charset=utf-8", body: INDEX.as_bytes() })
        }
        _ => None,
    }
}
