//! TLS for the panel's own HTTPS clients (the ACME client, pebble's management
//! API) and the self-signed certificates a sandbox and every new site start with.
//!
//! One crypto provider, aws-lc-rs, as everywhere in the panel; the roots are the
//! system's bundle plus, in a sandbox, the files the panel config names.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Debian's bundle of the system's trusted roots (package ca-certificates).
pub const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The DER certificates of every PEM file in `files`; a missing file is skipped.
pub fn read_roots(files: &[&Path]) -> Result<Vec<Vec<u8>>, String> {
    let mut roots = Vec::new();
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        for item in ureq::tls::parse_pem(&bytes) {
            if let Ok(ureq::tls::PemItem::Certificate(cert)) = item {
                roots.push(cert.der().to_vec());
            }
        }
    }
    Ok(roots)
}

/// A blocking HTTPS client trusting the system's roots and `extra` PEM files.
/// HTTP error statuses are answers, not errors: ACME reports problems in them.
pub fn agent(extra: &[&Path], timeout: Duration) -> Result<ureq::Agent, String> {
    let mut files: Vec<&Path> = vec![Path::new(SYSTEM_ROOTS)];
    files.extend_from_slice(extra);
    let certs: Vec<ureq::tls::Certificate<'static>> = read_roots(&files)?
        .into_iter()
        .map(|der| ureq::tls::Certificate::from_der(&der).to_owned())
        .collect();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .unversioned_rustls_crypto_provider(provider)
        .build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build();
    Ok(config.into())
}

/// A certificate and its key, PEM.
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issued { .. }")
    }
}

/// A self-signed ECDSA P-256 certificate for `names` (DNS names or IP
/// addresses), valid from yesterday for `days` days, with a random serial.
pub fn self_signed(names: &[String], days: i64) -> Result<Issued, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, names.first().cloned().unwrap_or_default());
    dn.push(rcgen::DnType::OrganizationName, "HS-Panel self-signed");
    params.distinguished_name = dn;
    let (y, m, d) = ymd(-1)?;
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(days)?;
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| "no randomness".to_string())?;
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// Today plus `days`: year, month, day.
fn ymd(days: i64) -> Result<(i32, u8, u8), String> {
    let span = jiff::Span::new().days(days);
    let day = jiff::Zoned::now().date().checked_add(span).map_err(|e| e.to_string())?;
    let month = u8::try_from(day.month()).map_err(|e| e.to_string())?;
    let dom = u8::try_from(day.day()).map_err(|e| e.to_string())?;
    Ok((i32::from(day.year()), month, dom))
}
