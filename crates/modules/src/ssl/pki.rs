//! Certificate checks of HS::SSL: what `install` refuses, and what `list` shows.
//!
//! Pure functions over PEM text and DER bytes; the trusted roots and the current
//! time come in from the caller, so every rule is a table test.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

/// What a certificate says about itself, for `list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    pub names: Vec<String>,
    pub issuer: String,
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub self_signed: bool,
}

/// The DER of every certificate in `pem`, in order; other blocks are skipped.
pub fn certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for item in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let item = item.map_err(|_| "the PEM text cannot be read".to_string())?;
        if item.label == "CERTIFICATE" {
            out.push(item.contents);
        }
    }
    Ok(out)
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|_| "a certificate cannot be parsed".to_string())
}

/// The DNS names a certificate covers: its SANs, else its common name.
fn names_of(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name {
                names.push(dns.to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        for cn in cert.subject().iter_common_name() {
            if let Ok(text) = cn.as_str() {
                names.push(text.to_ascii_lowercase());
            }
        }
    }
    names
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw()
        && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

pub fn info(der: &[u8]) -> Result<CertInfo, String> {
    let cert = parse(der)?;
    Ok(CertInfo {
        names: names_of(&cert),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed: signed_by(&cert, &cert),
    })
}

/// Whether a certificate for `names` serves `host`: an exact name, or a
/// wildcard `*.x` for one label in front of `x` (RFC 6125). `host` may itself
/// be a wildcard, then only the same wildcard covers it.
pub fn covers(names: &[String], host: &str) -> bool {
    names.iter().any(|name| {
        if name == host {
            return true;
        }
        match (name.strip_prefix("*."), host.split_once('.')) {
            (Some(base), Some((label, rest))) => label != "*" && rest == base,
            _ => false,
        }
    })
}

/// A certificate a user brings, checked and ready to serve.
#[derive(Debug, Clone)]
pub struct Checked {
    pub info: CertInfo,
    /// The key, then the certificate and its chain: the one file nginx loads.
    pub bundle: String,
}

/// Checks a bundle as nginx loads it (the key, then the certificate and its
/// chain) for `host`: the key matches the first certificate, which covers
/// `host`. Dates and the chain are not judged: a restored bundle serves as it
/// did, and renewal takes it from there.
pub fn check_bundle(host: &str, bundle: &str) -> Result<(), String> {
    const MARK: &str = "PRIVATE KEY-----";
    let begin_line = bundle.find(MARK).ok_or("the bundle holds no key")?;
    let start = bundle[..begin_line].rfind("-----BEGIN").ok_or("the bundle's key is damaged")?;
    let after = begin_line + MARK.len();
    let key_end = bundle[after..]
        .find(MARK)
        .map(|i| after + i + MARK.len())
        .ok_or("the bundle's key block is not closed")?;
    let key = rcgen::KeyPair::from_pem(&bundle[start..key_end])
        .map_err(|_| "the bundle's key is not a PEM private key".to_string())?;
    let ders = certificates(bundle)?;
    let leaf = parse(ders.first().ok_or("the bundle holds no certificate")?)?;
    if key.public_key_raw() != leaf.public_key().subject_public_key.data.as_ref() {
        return Err("the key does not match the certificate".into());
    }
    let names = names_of(&leaf);
    if !covers(&names, host) {
        return Err(format!("the certificate is for {}, not {host}", names.join(", ")));
    }
    Ok(())
}

/// Checks a certificate a user brings for `host`: the key matches it, it covers
/// `host`, it and its chain are valid at `now`, and the chain is ordered (each
/// certificate signed by the next) and complete (it ends at a certificate that
/// signs itself or that one of `roots` signs). Every refusal says why.
pub fn check_install(
    host: &str,
    cert_pem: &str,
    key_pem: &str,
    chain_pem: Option<&str>,
    roots: &[Vec<u8>],
    now: i64,
) -> Result<Checked, String> {
    let mut ders = certificates(cert_pem)?;
    if ders.is_empty() {
        return Err("cert holds no PEM certificate".into());
    }
    if let Some(chain) = chain_pem {
        ders.extend(certificates(chain)?);
    }
    let certs = ders.iter().map(|d| parse(d)).collect::<Result<Vec<_>, _>>()?;
    let leaf = &certs[0];

    let key = rcgen::KeyPair::from_pem(key_pem)
        .map_err(|_| "key is not a PEM private key (PKCS#8, RSA or EC)".to_string())?;
    if key.public_key_raw() != leaf.public_key().subject_public_key.data.as_ref() {
        return Err("the key does not match the certificate".into());
    }

    for (i, cert) in certs.iter().enumerate() {
        let what = if i == 0 { "the certificate".to_string() } else { format!("chain entry {i}") };
        let (from, until) =
            (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
        if until < now {
            return Err(format!("{what} expired ({})", cert.validity().not_after));
        }
        if from > now {
            return Err(format!("{what} is not valid before {}", cert.validity().not_before));
        }
    }

    let names = names_of(leaf);
    if !covers(&names, host) {
        return Err(format!("the certificate is for {}, not {host}", names.join(", ")));
    }

    check_chain(&certs, roots)?;
    let mut bundle = key.serialize_pem();
    for der in &ders {
        bundle.push_str(&pem_of(der));
    }
    Ok(Checked { info: info(&ders[0])?, bundle })
}

fn check_chain(certs: &[X509Certificate<'_>], roots: &[Vec<u8>]) -> Result<(), String> {
    for (i, pair) in certs.windows(2).enumerate() {
        if !signed_by(&pair[0], &pair[1]) {
            let elsewhere = certs.iter().any(|c| signed_by(&pair[0], c));
            return Err(if elsewhere {
                format!("the chain is out of order: entry {} does not sign entry {i}", i + 1)
            } else {
                format!("entry {} of the chain did not sign entry {i}", i + 1)
            });
        }
    }
    let Some(last) = certs.last() else { return Ok(()) };
    if signed_by(last, last) {
        return Ok(());
    }
    let anchored = roots.iter().filter_map(|r| parse(r).ok()).any(|root| signed_by(last, &root));
    if anchored {
        Ok(())
    } else {
        Err(format!("the chain is incomplete: nothing here or trusted signs {}", last.issuer()))
    }
}

/// A DER certificate as PEM.
pub fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::type_complexity)]
mod tests {
    use super::*;

    const NOW_PLUS: i64 = 3600;

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    /// A CA, and a leaf for `names` it signs, valid `days` from today (negative: expired).
    fn issued(names: &[&str], days: (i32, i32)) -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "Test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);

        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut leaf = rcgen::CertificateParams::new(names).unwrap();
        let year = 2026;
        leaf.not_before = rcgen::date_time_ymd(year + days.0 / 365, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(year + days.1 / 365, 12, 31);
        let cert = leaf.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem(), ca_cert.pem())
    }

    #[test]
    fn covers_table() {
        let names = vec!["alice.test".to_string(), "*.alice.test".to_string()];
        let cases = [
            ("alice.test", true),
            ("www.alice.test", true),
            ("a.b.alice.test", false),
            ("bob.test", false),
            ("*.alice.test", true),
            ("*.bob.test", false),
        ];
        for (host, want) in cases {
            assert_eq!(covers(&names, host), want, "{host}");
        }
        assert!(!covers(&["alice.test".to_string()], "*.alice.test"));
    }

    #[test]
    fn install_checks_table() {
        let (cert, key, ca) = issued(&["alice.test", "www.alice.test"], (-365, 365));
        let (_, other_key, _) = issued(&["alice.test"], (-365, 365));
        let (old, old_key, old_ca) = issued(&["alice.test"], (-730, -365));
        let (_, _, stranger_ca) = issued(&["x.test"], (-365, 365));
        let none: &[Vec<u8>] = &[];
        let trusted = certificates(&ca).unwrap();
        let t = now() + NOW_PLUS;

        // (host, cert, key, chain, roots, expected error part or "" for success)
        let cases: Vec<(&str, &str, &str, Option<&str>, &[Vec<u8>], &str)> = vec![
            ("alice.test", &cert, &key, Some(&ca), none, ""),
            ("www.alice.test", &cert, &key, Some(&ca), none, ""),
            ("alice.test", &cert, &key, None, &trusted, ""),
            ("alice.test", &cert, &other_key, Some(&ca), none, "does not match"),
            ("bob.test", &cert, &key, Some(&ca), none, "not bob.test"),
            ("alice.test", &old, &old_key, Some(&old_ca), none, "expired"),
            ("alice.test", &cert, &key, None, none, "incomplete"),
            ("alice.test", &cert, &key, Some(&stranger_ca), none, "did not sign"),
            ("alice.test", &cert, "not a key", Some(&ca), none, "not a PEM private key"),
            ("alice.test", "junk", &key, Some(&ca), none, "no PEM certificate"),
        ];
        for (host, cert, key, chain, roots, want) in cases {
            let got = check_install(host, cert, key, chain, roots, t);
            match (want.is_empty(), got) {
                (true, Ok(checked)) => assert!(checked.bundle.contains("PRIVATE KEY")),
                (true, Err(e)) => panic!("{host}: refused: {e}"),
                (false, Ok(_)) => panic!("{host}: accepted, wanted {want}"),
                (false, Err(e)) => assert!(e.contains(want), "{host}: {e} lacks {want}"),
            }
        }
    }

    /// root → intermediate → leaf for alice.test: (leaf, key, intermediate, root).
    fn three_levels() -> (String, String, String, String) {
        let ca = |name: &str| {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.distinguished_name.push(rcgen::DnType::CommonName, name);
            p
        };
        let root_key = rcgen::KeyPair::generate().unwrap();
        let root_params = ca("Root");
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = rcgen::Issuer::new(root_params, root_key);
        let mid_key = rcgen::KeyPair::generate().unwrap();
        let mid_params = ca("Intermediate");
        let mid = mid_params.signed_by(&mid_key, &root_issuer).unwrap();
        let mid_issuer = rcgen::Issuer::new(mid_params, mid_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["alice.test".to_string()])
            .unwrap()
            .signed_by(&key, &mid_issuer)
            .unwrap();
        (leaf.pem(), key.serialize_pem(), mid.pem(), root.pem())
    }

    #[test]
    fn chain_order_and_completeness_table() {
        let (leaf, key, mid, root) = three_levels();
        let roots = certificates(&root).unwrap();
        let none: &[Vec<u8>] = &[];
        let reversed = format!("{root}{mid}");
        let full = format!("{mid}{root}");
        let cases: Vec<(Option<&str>, &[Vec<u8>], &str)> = vec![
            (Some(&mid), &roots, ""),
            (Some(&full), none, ""),
            (Some(&mid), none, "incomplete"),
            (None, &roots, "incomplete"),
            (Some(&reversed), none, "out of order"),
            (Some(&root), &roots, "did not sign"),
        ];
        for (chain, roots, want) in cases {
            let got = check_install("alice.test", &leaf, &key, chain, roots, now());
            match (want.is_empty(), got) {
                (true, Ok(_)) => {}
                (true, Err(e)) => panic!("refused: {e}"),
                (false, Ok(_)) => panic!("accepted, wanted {want}"),
                (false, Err(e)) => assert!(e.contains(want), "{e} lacks {want}"),
            }
        }
    }

    #[test]
    fn self_signed_info() {
        let issued = hs_services::tls::self_signed(&["alice.test".into()], 30).unwrap();
        let der = certificates(&issued.cert_pem).unwrap();
        let info = info(&der[0]).unwrap();
        assert!(info.self_signed);
        assert_eq!(info.names, vec!["alice.test".to_string()]);
        assert!(info.not_after > now() + 29 * 86400);
    }
}
