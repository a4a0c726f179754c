//! Reads a standard master file (RFC 1035 §5) into typed records: what
//! `import_zone` and the record templates use. Pure: text in, records out.
//!
//! Supported: `$ORIGIN`, `$TTL`, comments, parentheses over several lines, quoted
//! strings with escapes, an owner left blank (the previous one), `@`, relative and
//! absolute names, TTLs with units (`1h`), class `IN`, and the types the panel
//! serves. The SOA is read for its serial and otherwise ignored (the panel writes
//! its own). `$INCLUDE`, `$GENERATE` and other types are refused with the line.

use hs_types::dns_record::quote;
use hs_types::{DnsRecord, DomainName, RecordData, RecordName, RecordType, Ttl};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub records: Vec<DnsRecord>,
    /// The serial of the file's SOA, if it had one.
    pub soa_serial: Option<u32>,
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    quoted: bool,
}

/// One logical entry: its first line, whether it started with blank space (no
/// owner), and its tokens.
#[derive(Debug)]
struct Entry {
    line: usize,
    blank_owner: bool,
    tokens: Vec<Token>,
}

/// The largest file accepted, in bytes.
pub const MAX_FILE: usize = 1024 * 1024;

pub fn parse(text: &str, zone: &DomainName, default_ttl: Ttl) -> Result<Parsed, ParseError> {
    if text.len() > MAX_FILE {
        return Err(ParseError { line: 0, reason: format!("larger than {MAX_FILE} bytes") });
    }
    let mut origin = format!("{zone}.");
    let mut dollar_ttl: Option<Ttl> = None;
    let mut last_ttl: Option<Ttl> = None;
    let mut owner: Option<RecordName> = None;
    let mut parsed = Parsed { records: Vec::new(), soa_serial: None };

    for entry in entries(text)? {
        let line = entry.line;
        let fail = |reason: String| ParseError { line, reason };
        let mut tokens = entry.tokens.into_iter().peekable();
        let Some(first) = tokens.peek().cloned() else { continue };

        if !entry.blank_owner && first.text.starts_with('$') && !first.quoted {
            tokens.next();
            let arg = tokens.next().map(|t| t.text).unwrap_or_default();
            match first.text.to_ascii_uppercase().as_str() {
                "$ORIGIN" => origin = absolute(&arg, &origin),
                "$TTL" => {
                    dollar_ttl = Some(Ttl::parse_zone(&arg).map_err(|e| fail(e.to_string()))?)
                }
                other => return Err(fail(format!("{other} is not supported"))),
            }
            continue;
        }

        if !entry.blank_owner {
            let name = tokens.next().map(|t| t.text).unwrap_or_default();
            let full = if name == "@" { origin.clone() } else { absolute(&name, &origin) };
            owner = Some(RecordName::in_zone(&full, zone).map_err(|e| fail(e.to_string()))?);
        }
        let name = owner.clone().ok_or_else(|| fail("the first record has no name".into()))?;

        // TTL and class, in either order, then the type.
        let mut ttl = None;
        let rtype_text = loop {
            let token = tokens.next().ok_or_else(|| fail("the record type is missing".into()))?;
            let t = token.text;
            if t.eq_ignore_ascii_case("IN") {
                continue;
            }
            if ["CH", "HS", "CS"].iter().any(|c| t.eq_ignore_ascii_case(c)) {
                return Err(fail(format!("class {t} is not supported; only IN")));
            }
            if ttl.is_none() && t.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(Ttl::parse_zone(&t).map_err(|e| fail(e.to_string()))?);
                continue;
            }
            break t;
        };
        let rest: Vec<Token> = tokens.collect();

        if rtype_text.eq_ignore_ascii_case("SOA") {
            let serial = rest.get(2).and_then(|t| t.text.parse::<u32>().ok());
            parsed.soa_serial = Some(serial.ok_or_else(|| fail("the SOA has no serial".into()))?);
            continue;
        }
        let rtype: RecordType = rtype_text.parse().map_err(|e: hs_types::InvalidValue| {
            fail(format!("{e} (names and values cannot be read without a type)"))
        })?;
        let ttl = ttl.or(dollar_ttl).or(last_ttl).unwrap_or(default_ttl);
        last_ttl = Some(ttl);

        let value = rdata_text(rtype, &rest, &origin, zone);
        let data = RecordData::parse(rtype, &value).map_err(|e| fail(e.to_string()))?;
        let record = DnsRecord::new(name, ttl, data).map_err(|e| fail(e.to_string()))?;
        parsed.records.push(record);
    }
    Ok(parsed)
}

/// `name` completed with `origin` when relative (`origin` ends with a dot).
fn absolute(name: &str, origin: &str) -> String {
    if name.ends_with('.') { name.to_string() } else { format!("{name}.{origin}") }
}

/// The record data as [`RecordData::parse`] reads it. Relative names are made
/// absolute when `$ORIGIN` is not the zone itself; TXT words are quoted.
fn rdata_text(rtype: RecordType, rest: &[Token], origin: &str, zone: &DomainName) -> String {
    let apex = format!("{zone}.");
    let target = |t: &Token| {
        if t.text == "@" {
            origin.to_string()
        } else if origin != apex && !t.text.ends_with('.') {
            absolute(&t.text, origin)
        } else {
            t.text.clone()
        }
    };
    let raw = |t: &Token| if t.quoted { format!("\"{}\"", t.text) } else { t.text.clone() };
    let words: Vec<String> = match rtype {
        RecordType::Txt => {
            rest.iter().map(|t| if t.quoted { raw(t) } else { quote(t.text.as_bytes()) }).collect()
        }
        RecordType::Cname | RecordType::Ns => rest.iter().map(target).collect(),
        RecordType::Mx | RecordType::Srv => {
            let n = rest.len();
            rest.iter()
                .enumerate()
                .map(|(i, t)| if i + 1 == n { target(t) } else { raw(t) })
                .collect()
        }
        _ => rest.iter().map(raw).collect(),
    };
    // A quoted TXT value must stay quoted even when it is a single word.
    if rtype == RecordType::Txt && words.is_empty() {
        return String::new();
    }
    words.join(" ")
}

/// Splits the text into entries: comments dropped, parentheses joined, quoted
/// strings kept whole (their text still escaped, as in the file).
fn entries(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut out = Vec::new();
    let mut current: Option<Entry> = None;
    let mut depth = 0usize;
    let mut line_no = 1;
    let mut chars = text.chars().peekable();
    let mut at_line_start = true;

    while let Some(c) = chars.next() {
        if at_line_start && depth == 0 {
            at_line_start = false;
            if let Some(entry) = current.take()
                && !entry.tokens.is_empty()
            {
                out.push(entry);
            }
            current = Some(Entry {
                line: line_no,
                blank_owner: c == ' ' || c == '\t',
                tokens: Vec::new(),
            });
        }
        let entry =
            current.get_or_insert(Entry { line: line_no, blank_owner: false, tokens: Vec::new() });
        match c {
            '\n' => {
                line_no += 1;
                at_line_start = true;
            }
            ' ' | '\t' | '\r' => {}
            ';' => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| ParseError {
                    line: line_no,
                    reason: "a ')' without '('".into(),
                })?;
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => {
                            let reason = "a quoted string is not closed".into();
                            return Err(ParseError { line: line_no, reason });
                        }
                        Some('"') => break,
                        Some('\\') => {
                            s.push('\\');
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        Some('\n') => {
                            let reason = "a quoted string spans lines".into();
                            return Err(ParseError { line: line_no, reason });
                        }
                        Some(other) => s.push(other),
                    }
                }
                entry.tokens.push(Token { text: s, quoted: true });
            }
            _ => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "();\"".contains(n) {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                entry.tokens.push(Token { text: s, quoted: false });
            }
        }
    }
    if depth != 0 {
        return Err(ParseError { line: line_no, reason: "a '(' is not closed".into() });
    }
    if let Some(entry) = current
        && !entry.tokens.is_empty()
    {
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Result<Vec<String>, String> {
        let zone: DomainName = "example.com".parse().unwrap();
        let parsed = parse(text, &zone, Ttl::default()).map_err(|e| e.to_string())?;
        Ok(parsed
            .records
            .iter()
            .map(|r| format!("{} {} {} {}", r.name, r.ttl.get(), r.rtype(), r.data.to_zone()))
            .collect())
    }

    #[test]
    fn a_real_world_shaped_zone() {
        let text = r#"$ORIGIN example.com.
$TTL 1h
@   IN  SOA ns1.example.net. hostmaster.example.com. (
            2024010101 ; serial
            7200 3600 1209600 300 )
    IN  NS  ns1.example.net.
        NS  ns2.example.net.
@   300 IN A 192.0.2.10
    IN  AAAA 2001:db8::10
    MX  10 mail
    MX  20 mx2.example.net.
www IN CNAME example.com.
mail 600 A 192.0.2.25
_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
sel._domainkey IN TXT ( "v=DKIM1; k=rsa; "
                        "p=MIIBIjAN" )
_sip._tcp SRV 10 60 5060 sip
@ CAA 0 issue "letsencrypt.org"
dev NS ns.dev
ns.dev A 192.0.2.53
$ORIGIN shop.example.com.
@ A 192.0.2.11
cdn CNAME cdn.provider.net.
"#;
        let got = lines(text).unwrap();
        let want = [
            "@ 3600 NS ns1.example.net.",
            "@ 3600 NS ns2.example.net.",
            "@ 300 A 192.0.2.10",
            "@ 3600 AAAA 2001:db8::10",
            "@ 3600 MX 10 mail",
            "@ 3600 MX 20 mx2.example.net.",
            "www 3600 CNAME example.com.",
            "mail 600 A 192.0.2.25",
            "_dmarc 3600 TXT \"v=DMARC1; p=quarantine; rua=mailto:d@example.com\"",
            "sel._domainkey 3600 TXT \"v=DKIM1; k=rsa; \" \"p=MIIBIjAN\"",
            "_sip._tcp 3600 SRV 10 60 5060 sip",
            "@ 3600 CAA 0 issue \"letsencrypt.org\"",
            "dev 3600 NS ns.dev",
            "ns.dev 3600 A 192.0.2.53",
            "shop 3600 A 192.0.2.11",
            "cdn.shop 3600 CNAME cdn.provider.net.",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn refusals_name_the_line() {
        let cases = [
            ("@ IN A 1.2.3.999\n", "line 1: invalid A record"),
            ("@ NS ns1.x.net.\nwww.other.org. A 192.0.2.1\n", "line 2: invalid record name"),
            ("$INCLUDE /etc/passwd\n", "line 1: $INCLUDE is not supported"),
            ("@ IN PTR x.example.net.\n", "line 1: invalid record type"),
            ("@ CH A 192.0.2.1\n", "class CH"),
            ("@ TXT \"open\n", "quoted string"),
            ("@ A ( 192.0.2.1\n", "'(' is not closed"),
            ("@ -1 A 192.0.2.1\n", "record type"),
            ("   A 192.0.2.1\n", "no name"),
        ];
        for (text, want) in cases {
            let err = lines(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn txt_escapes_survive() {
        let got = lines("t TXT \"say \\\"hi\\\"\" plain \"\\059\"\n").unwrap();
        assert_eq!(got, [r#"t 14400 TXT "say \"hi\"" "plain" ";""#]);
    }
}
