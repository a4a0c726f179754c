//! A small WebDriver client for the UI tests: it starts Debian's `chromedriver`
//! on a free loopback port and drives headless Chromium with the W3C WebDriver
//! protocol, which is plain JSON over HTTP. No browser crate, no downloads.
//!
//! Waits poll the page with short scripts, so a test states what it expects to
//! see and the client waits up to [`WAIT`] for it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a wait for an element or a condition lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// The W3C name of an element reference in WebDriver JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One headless Chromium session. Dropping it ends the session and chromedriver.
pub struct Browser {
    driver: Child,
    session: String,
    profile: PathBuf,
    agent: ureq::Agent,
}

impl Browser {
    /// Starts chromedriver and a fresh Chromium profile, 1280×900 by default.
    pub fn start() -> Browser {
        Browser::start_with(&[])
    }

    /// As [`Browser::start`], with extra Chromium arguments.
    pub fn start_with(extra_args: &[&str]) -> Browser {
        let port = free_port();
        let log = std::fs::File::create(format!("/tmp/{}.chromedriver.log", crate::unique("hsb")))
            .unwrap();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("chromedriver: install the chromium-driver package");
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&agent, &base);

        let profile = PathBuf::from(format!("/tmp/{}", crate::unique("hsprof")));
        std::fs::create_dir_all(&profile).unwrap();
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
        }}});
        let reply = send(&agent, "POST", &format!("{base}/session"), Some(capabilities));
        let id = reply["sessionId"].as_str().unwrap_or_else(|| panic!("new session: {reply}"));
        let session = format!("{base}/session/{id}");
        Browser { driver, session, profile, agent }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = send(&self.agent, method, &format!("{}{path}", self.session), body);
        if let Some(error) = reply.get("error").and_then(Value::as_str) {
            panic!("webdriver {method} {path}: {error}: {}", reply["message"]);
        }
        reply
    }

    /// Like `call`, but a WebDriver error comes back as `Err(error code)`.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let reply = send(&self.agent, method, &format!("{}{path}", self.session), body);
        match reply.get("error").and_then(Value::as_str) {
            Some(error) => Err(error.to_string()),
            None => Ok(reply),
        }
    }

    /// Opens a portal's login page at `url`, logs in and waits for the dashboard.
    pub fn log_in(&self, url: &str, user: &str, password: &str) {
        self.goto(url);
        self.type_into("form[data-form=login] input[name=username]", user);
        self.type_into("form[data-form=login] input[name=password]", password);
        self.click("form[data-form=login] button[type=submit]");
        self.find("nav a[data-page=dashboard]");
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Waits until `condition` (a JS expression) is truthy.
    pub fn wait_until(&self, condition: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        let script = format!("return !!({condition});");
        loop {
            if self
                .try_call("POST", "/execute/sync", Some(json!({ "script": script, "args": [] })))
                .is_ok_and(|v| v == json!(true))
            {
                return;
            }
            if Instant::now() > deadline {
                let body = self.script("return document.body.innerText;", json!([]));
                panic!("timed out waiting for {what}; the page says:\n{}", body.as_str().unwrap());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for an element matching `css` and returns its reference.
    pub fn find(&self, css: &str) -> String {
        let quoted = serde_json::to_string(css).unwrap();
        self.wait_until(&format!("document.querySelector({quoted})"), css);
        let reply =
            self.call("POST", "/element", Some(json!({ "using": "css selector", "value": css })));
        reply[ELEMENT].as_str().unwrap().to_string()
    }

    pub fn exists(&self, css: &str) -> bool {
        self.script("return document.querySelector(arguments[0]) !== null;", json!([css]))
            == json!(true)
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Clears the field matching `css` and types `text` into it.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.call("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    /// Picks the option with `value` in the `<select>` matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.find(css);
        let done = self.script(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change', { bubbles: true })); return s.value;",
            json!([css, value]),
        );
        assert_eq!(done, json!(value), "no option {value} in {css}");
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.call("GET", &format!("/element/{id}/text"), None).as_str().unwrap().to_string()
    }

    /// The text of an open `alert()`, if one is open.
    pub fn alert_text(&self) -> Option<String> {
        self.try_call("GET", "/alert/text", None).ok().and_then(|v| v.as_str().map(str::to_string))
    }

    pub fn set_window_size(&self, width: u32, height: u32) {
        self.call("POST", "/window/rect", Some(json!({ "width": width, "height": height })));
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light), through the
    /// DevTools protocol that chromedriver passes on.
    pub fn prefer_dark(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        let params = json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] });
        let command = json!({ "cmd": "Emulation.setEmulatedMedia", "params": params });
        self.call("POST", "/goog/cdp/execute", Some(command));
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let data = self.call("GET", "/screenshot", None);
        let png = decode_base64(data.as_str().unwrap());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.session).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Where the UI tests put their screenshots: `ui-screenshots/` in cargo's target
/// folder (the test binary is `target/debug/deps/e2e-…`).
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    target.join("ui-screenshots")
}

fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let result = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or(json!({})).to_string().as_bytes()),
    };
    let mut response = result.unwrap_or_else(|e| panic!("webdriver {method} {url}: {e}"));
    let text = response.body_mut().read_to_string().unwrap();
    let reply: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    reply.get("value").cloned().unwrap_or(reply)
}

fn wait_ready(agent: &ureq::Agent, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut r) = agent.get(format!("{base}/status")).call() {
            let text = r.body_mut().read_to_string().unwrap_or_default();
            if text.contains("\"ready\":true") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Standard base64 (the screenshot's PNG), padding and line breaks ignored.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|c| !matches!(c, b'=' | b'\n' | b'\r')).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= u32::from(value(c)) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_decodes() {
        let cases: &[(&str, &[u8])] = &[
            ("", b""),
            ("Zg==", b"f"),
            ("Zm8=", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYg==", b"foob"),
            ("iVBORw0KGgo=", b"\x89PNG\r\n\x1a\n"),
        ];
        for (text, bytes) in cases {
            assert_eq!(decode_base64(text), *bytes, "{text}");
        }
    }
}
