//! A small, blocking ACME (RFC 8555) client: account, order, http-01 and dns-01
//! challenges, finalize, download. JWS ES256 with aws-lc-rs, HTTP with ureq over
//! rustls (aws-lc-rs), both already in the build.
//!
//! Why not instant-acme: it is async on hyper + hyper-rustls + tokio, a second
//! HTTP stack in the build for a few requests that run on a blocking thread
//! anyway; this is about 250 lines over crates the panel already compiles.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

/// How long an order may take from the first challenge to the certificate.
const ORDER_LIMIT: Duration = Duration::from_secs(90);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An ACME account on one CA, ready to order.
pub struct Client {
    agent: ureq::Agent,
    directory: Value,
    key: EcdsaKeyPair,
    kid: String,
    nonce: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("acme::Client { .. }")
    }
}

/// A new account key (PKCS#8), for the panel to keep.
pub fn new_account_key() -> Result<Vec<u8>, String> {
    let rng = SystemRandom::new();
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| "cannot make an ACME account key".to_string())
}

/// One challenge of an authorization.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub kind: String,
    pub url: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub domain: String,
    pub wildcard: bool,
    pub status: String,
    pub challenges: Vec<Challenge>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub url: String,
    pub authorizations: Vec<String>,
    pub finalize: String,
}

impl Client {
    /// Reads the directory and registers (or finds again) the account of `pkcs8`.
    pub fn connect(
        agent: ureq::Agent,
        directory_url: &str,
        pkcs8: &[u8],
    ) -> Result<Client, String> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|_| "the ACME account key is unreadable".to_string())?;
        let mut response = agent
            .get(directory_url)
            .call()
            .map_err(|e| format!("the ACME directory {directory_url} does not answer: {e}"))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("the ACME directory answered {status}"));
        }
        let directory: Value = serde_json::from_str(&text)
            .map_err(|_| "the ACME directory is not JSON".to_string())?;
        let mut client = Client { agent, directory, key, kid: String::new(), nonce: None };

        let url = client.endpoint("newAccount")?;
        let payload = json!({ "termsOfServiceAgreed": true });
        let (status, headers, _) = client.post(&url, Some(&payload), true)?;
        if !(status == 200 || status == 201) {
            return Err(format!("the CA refused the account ({status})"));
        }
        client.kid = headers.location.ok_or("the CA gave the account no URL")?;
        Ok(client)
    }

    fn endpoint(&self, name: &str) -> Result<String, String> {
        self.directory[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("the ACME directory has no {name}"))
    }

    fn fresh_nonce(&mut self) -> Result<String, String> {
        if let Some(nonce) = self.nonce.take() {
            return Ok(nonce);
        }
        let url = self.endpoint("newNonce")?;
        let response = self.agent.head(&url).call().map_err(|e| format!("ACME nonce: {e}"))?;
        header(&response, "replay-nonce").ok_or_else(|| "the CA gave no nonce".to_string())
    }

    fn jwk(&self) -> Value {
        // An uncompressed P-256 point: 0x04, x, y.
        let point = self.key.public_key().as_ref();
        let (x, y) = point.get(1..).unwrap_or_default().split_at(point.len().saturating_sub(1) / 2);
        json!({ "crv": "P-256", "kty": "EC", "x": b64(x), "y": b64(y) })
    }

    /// `token.thumbprint`: what the CA expects to find for `token`.
    pub fn key_authorization(&self, token: &str) -> String {
        let jwk = self.jwk();
        // RFC 7638: the required members in lexicographic order, no spaces.
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default()
        );
        format!("{token}.{}", b64(&sha2::Sha256::digest(canonical.as_bytes())))
    }

    /// The TXT value of a dns-01 challenge.
    pub fn dns_value(&self, token: &str) -> String {
        b64(&sha2::Sha256::digest(self.key_authorization(token).as_bytes()))
    }

    /// A signed POST (`payload` None: POST-as-GET). Retries once on badNonce.
    fn post(
        &mut self,
        url: &str,
        payload: Option<&Value>,
        with_jwk: bool,
    ) -> Result<(u16, Headers, String), String> {
        for attempt in 0..2 {
            let nonce = self.fresh_nonce()?;
            let mut protected = json!({ "alg": "ES256", "nonce": nonce, "url": url });
            if with_jwk {
                protected["jwk"] = self.jwk();
            } else {
                protected["kid"] = json!(self.kid);
            }
            let protected = b64(protected.to_string().as_bytes());
            let payload = payload.map(|p| b64(p.to_string().as_bytes())).unwrap_or_default();
            let signing_input = format!("{protected}.{payload}");
            let signature = self
                .key
                .sign(&SystemRandom::new(), signing_input.as_bytes())
                .map_err(|_| "cannot sign the ACME request".to_string())?;
            let body = json!({
                "protected": protected,
                "payload": payload,
                "signature": b64(signature.as_ref()),
            });
            let mut response = self
                .agent
                .post(url)
                .header("content-type", "application/jose+json")
                .send(body.to_string())
                .map_err(|e| format!("the CA does not answer: {e}"))?;
            let headers = Headers { location: header(&response, "location"), link_alternate: None };
            self.nonce = header(&response, "replay-nonce");
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
            if status == 400 && text.contains("badNonce") && attempt == 0 {
                continue;
            }
            return Ok((status, headers, text));
        }
        Err("the CA kept refusing our nonces".into())
    }

    fn post_json(
        &mut self,
        url: &str,
        payload: Option<&Value>,
    ) -> Result<(Headers, Value), String> {
        let (status, headers, text) = self.post(url, payload, false)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let detail = value["detail"].as_str().unwrap_or(&text).to_string();
            return Err(format!("the CA refused ({status}): {detail}"));
        }
        Ok((headers, value))
    }

    pub fn new_order(&mut self, names: &[String]) -> Result<Order, String> {
        let url = self.endpoint("newOrder")?;
        let ids: Vec<Value> = names.iter().map(|n| json!({ "type": "dns", "value": n })).collect();
        let (headers, order) = self.post_json(&url, Some(&json!({ "identifiers": ids })))?;
        let authorizations = order["authorizations"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Ok(Order {
            url: headers.location.ok_or("the CA gave the order no URL")?,
            authorizations,
            finalize: order["finalize"].as_str().ok_or("the order has no finalize URL")?.into(),
        })
    }

    pub fn authorization(&mut self, url: &str) -> Result<Authorization, String> {
        let (_, authz) = self.post_json(url, None)?;
        let challenges = authz["challenges"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| Challenge {
                        kind: c["type"].as_str().unwrap_or_default().into(),
                        url: c["url"].as_str().unwrap_or_default().into(),
                        token: c["token"].as_str().unwrap_or_default().into(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Authorization {
            url: url.into(),
            domain: authz["identifier"]["value"].as_str().unwrap_or_default().into(),
            wildcard: authz["wildcard"].as_bool().unwrap_or(false),
            status: authz["status"].as_str().unwrap_or_default().into(),
            challenges,
        })
    }

    /// Tells the CA the challenge is ready, and waits until the authorization is
    /// valid (or says why it is not).
    pub fn validate(&mut self, challenge: &Challenge, authz_url: &str) -> Result<(), String> {
        self.post_json(&challenge.url, Some(&json!({})))?;
        let start = Instant::now();
        loop {
            let (_, authz) = self.post_json(authz_url, None)?;
            match authz["status"].as_str().unwrap_or_default() {
                "valid" => return Ok(()),
                "pending" | "processing" => {}
                other => {
                    let detail = authz["challenges"]
                        .as_array()
                        .and_then(|l| l.iter().find_map(|c| c["error"]["detail"].as_str()))
                        .unwrap_or(other);
                    return Err(format!("validation failed: {detail}"));
                }
            }
            if start.elapsed() > ORDER_LIMIT {
                return Err("the CA did not validate in time".into());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Finalizes with `csr_der` and downloads the chain (PEM, leaf first).
    pub fn finalize(&mut self, order: &Order, csr_der: &[u8]) -> Result<String, String> {
        let payload = json!({ "csr": b64(csr_der) });
        self.post_json(&order.finalize, Some(&payload))?;
        let start = Instant::now();
        let cert_url = loop {
            let (_, state) = self.post_json(&order.url, None)?;
            match state["status"].as_str().unwrap_or_default() {
                "valid" => {
                    break state["certificate"].as_str().ok_or("no certificate URL")?.to_string();
                }
                "processing" | "ready" | "pending" => {}
                other => return Err(format!("the order is {other}")),
            }
            if start.elapsed() > ORDER_LIMIT {
                return Err("the CA did not issue in time".into());
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        let (status, _, pem) = self.post(&cert_url, None, false)?;
        if status != 200 {
            return Err(format!("downloading the certificate failed ({status})"));
        }
        Ok(pem)
    }
}

#[derive(Debug, Default)]
struct Headers {
    location: Option<String>,
    #[allow(dead_code)]
    link_alternate: Option<String>,
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}
