//! `/api/fileman/*`: HS::FileManager, an account's files. On the user port the
//! account is the caller's; on the admin port staff name it with `username`.
//!
//! Every operation runs in the `hs-fileop` helper as the account's user (see
//! `hs_modules::fileman`). Downloads stream from the helper's pipe with HTTP
//! Range support; uploads (multipart, their own route in `server`) stream into
//! it. Memory stays flat: at most a few 64 KiB chunks are in flight.

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Multipart;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hs_auth::{Portal, Principal};
use hs_modules::Actor;
use hs_modules::fileman::{self, Download};
use hs_types::{FileMode, FilePath, Username};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::registry::{Action, Call, Field, FieldType as T, Reply, opt, req};

/// Bytes per chunk of a download.
const CHUNK: usize = 64 * 1024;

/// Chunks buffered between the helper's pipe and the socket.
const IN_FLIGHT: usize = 4;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathInput {
    #[serde(default)]
    username: Option<Username>,
    path: FilePath,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromTo {
    #[serde(default)]
    username: Option<Username>,
    from: FilePath,
    to: FilePath,
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: PathInput = c.parse()?;
    let user = c.target(input.username)?;
    c.json(fileman::list(&c.app.panel, &c.actor()?, &user, &input.path, &c.op_id)?)
}

fn mkdir(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: PathInput = c.parse()?;
    let user = c.target(input.username)?;
    c.json(fileman::mkdir(&c.app.panel, &c.actor()?, &user, &input.path, &c.op_id)?)
}

fn delete(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: PathInput = c.parse()?;
    let user = c.target(input.username)?;
    c.json(fileman::delete(&c.app.panel, &c.actor()?, &user, &input.path, &c.op_id)?)
}

fn rename(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: FromTo = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(fileman::rename(&c.app.panel, &actor, &user, &input.from, &input.to, &c.op_id)?)
}

fn copy(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: FromTo = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(fileman::copy(&c.app.panel, &actor, &user, &input.from, &input.to, &c.op_id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Chmod {
    #[serde(default)]
    username: Option<Username>,
    path: FilePath,
    mode: FileMode,
}

fn chmod(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Chmod = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(fileman::chmod(&c.app.panel, &actor, &user, &input.path, &input.mode, &c.op_id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    username: Option<Username>,
    path: FilePath,
    #[serde(default)]
    content: Option<String>,
}

/// GET (or POST without `content`) reads; POST with `content` writes.
fn edit(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Edit = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    let panel = &c.app.panel;
    match input.content {
        None => c.json(fileman::edit_read(panel, &actor, &user, &input.path, &c.op_id)?),
        Some(content) => {
            c.json(fileman::edit_write(panel, &actor, &user, &input.path, &content, &c.op_id)?)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extract {
    #[serde(default)]
    username: Option<Username>,
    path: FilePath,
    dest: FilePath,
}

fn extract(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Extract = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(fileman::extract(&c.app.panel, &actor, &user, &input.path, &input.dest, &c.op_id)?)
}

fn upload_via_json(_: &Call<'_>) -> Result<Reply, ApiError> {
    Err(ApiError::bad_request("send the upload as multipart/form-data"))
}

/// A byte range asked for with `Range: bytes=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    From(u64, Option<u64>),
    Last(u64),
}

/// One range of `bytes=`; anything else (several ranges, other units) is
/// ignored and the whole file is sent, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<Wanted> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        return end.parse().ok().filter(|n| *n > 0).map(Wanted::Last);
    }
    let start: u64 = start.parse().ok()?;
    match end {
        "" => Some(Wanted::From(start, None)),
        end => {
            end.parse::<u64>().ok().filter(|e| *e >= start).map(|e| Wanted::From(start, Some(e)))
        }
    }
}

fn not_satisfiable(size: Option<u64>) -> ApiError {
    let msg = match size {
        Some(size) => format!("the range is outside the file ({size} bytes)"),
        None => "the range is outside the file".into(),
    };
    ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", msg)
}

fn download(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: PathInput = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    let panel = &c.app.panel;
    let wanted = c.range.as_deref().and_then(parse_range);
    let open = |offset, length| {
        fileman::download(panel, &actor, &user, &input.path, offset, length, &c.op_id)
    };
    let file = match wanted {
        None => open(0, None)?,
        Some(Wanted::From(start, end)) => {
            open(start, end.map(|e| e - start + 1)).map_err(|e| range_error(e, None))?
        }
        Some(Wanted::Last(n)) => {
            let size = open(0, Some(0))?.header.size;
            if size == 0 {
                return Err(not_satisfiable(Some(0)));
            }
            let start = size.saturating_sub(n);
            open(start, None).map_err(|e| range_error(e, Some(size)))?
        }
    };
    let name = input.path.as_str().rsplit('/').next().unwrap_or("download").to_string();
    Ok(Reply::Raw(stream_response(file, wanted.is_some(), &name)))
}

fn range_error(e: hs_modules::ModuleError, size: Option<u64>) -> ApiError {
    match e {
        hs_modules::ModuleError::Invalid(m) if m.contains("past the end") => not_satisfiable(size),
        other => other.into(),
    }
}

/// A name safe inside a quoted `Content-Disposition` parameter.
fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-+".contains(c) { c } else { '_' })
        .collect();
    if cleaned.is_empty() { "download".into() } else { cleaned }
}

fn stream_response(file: Download, partial: bool, name: &str) -> Response {
    let header = file.header;
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(IN_FLIGHT);
    std::thread::spawn(move || pump(file, &tx));
    let mut response = Body::from_stream(ChunkStream(rx)).into_response();
    if partial {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let last = (header.offset + header.length).saturating_sub(1);
        let range = format!("bytes {}-{}/{}", header.offset, last, header.size);
        if let Ok(v) = HeaderValue::from_str(&range) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(header.length));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let disposition = format!("attachment; filename=\"{}\"", safe_filename(name));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Reads the helper's pipe on a thread of its own, a chunk at a time; stops
/// when the client goes away (the channel closes) and drops the helper.
fn pump(mut file: Download, tx: &mpsc::Sender<std::io::Result<Bytes>>) {
    loop {
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

struct ChunkStream(mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for ChunkStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// What travels from the multipart reader to the helper's feeder.
enum Piece {
    Chunk(Bytes),
    /// The whole file arrived: only then is it put in place.
    End,
}

/// `upload`: fields `path` (the folder; first), `username` (admin port), and
/// `file`, streamed to the helper as it arrives.
pub async fn upload(
    app: crate::app::App,
    portal: Portal,
    principal: Principal,
    op_id: String,
    mut multipart: Multipart,
) -> Result<Reply, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("the upload broke off: {e}"))
    };
    let mut folder: Option<FilePath> = None;
    let mut named: Option<Username> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "path" => folder = Some(field.text().await.map_err(bad)?.parse()?),
            "username" => named = Some(field.text().await.map_err(bad)?.parse()?),
            "file" => {
                let dir = folder
                    .clone()
                    .ok_or_else(|| ApiError::bad_request("send the `path` field before `file`"))?;
                let name = field
                    .file_name()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad_request("the `file` field has no file name"))?;
                let actor = Actor {
                    name: principal.username.clone(),
                    role: principal.role,
                    op_id: Some(op_id.clone()),
                };
                let user = target(portal, &principal, named.clone())?;
                let (tx, mut rx) = mpsc::channel::<Piece>(IN_FLIGHT);
                let feeder = tokio::task::spawn_blocking(move || {
                    let panel = &app.panel;
                    let mut upload = fileman::upload(panel, &actor, &user, &dir, &name, &op_id)?;
                    while let Some(piece) = rx.blocking_recv() {
                        match piece {
                            Piece::Chunk(bytes) => upload.write_chunk(&bytes)?,
                            Piece::End => return upload.finish(),
                        }
                    }
                    // The client went away: dropping the upload leaves no file.
                    Err(hs_modules::ModuleError::Invalid("the upload broke off".into()))
                });
                let mut broke = None;
                loop {
                    match field.chunk().await {
                        Ok(Some(bytes)) => {
                            if tx.send(Piece::Chunk(bytes)).await.is_err() {
                                break;
                            }
                        }
                        Ok(None) => {
                            let _ = tx.send(Piece::End).await;
                            break;
                        }
                        Err(e) => {
                            broke = Some(bad(e));
                            break;
                        }
                    }
                }
                drop(tx);
                let outcome = feeder
                    .await
                    .map_err(|e| ApiError::internal(format!("upload task crashed: {e}")))?;
                if let Some(e) = broke {
                    return Err(e);
                }
                return Ok(Reply::Json(outcome?));
            }
            other => {
                return Err(ApiError::bad_request(format!("unknown field `{other}`")));
            }
        }
    }
    Err(ApiError::bad_request("missing field `file`"))
}

/// As [`Call::target`], for the upload route that has no `Call`.
fn target(
    portal: Portal,
    principal: &Principal,
    named: Option<Username>,
) -> Result<Username, ApiError> {
    match portal {
        Portal::User => {
            let me: Username = principal.username.parse()?;
            match named {
                Some(other) if other != me => {
                    Err(ApiError::forbidden("on this port you act on your own account only"))
                }
                _ => Ok(me),
            }
        }
        Portal::Admin => named.ok_or_else(|| ApiError::bad_request("missing field `username`")),
    }
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const PATH: Field = req("path", T::String, "relative to the home; `/` is the home itself");
const FROM: Field = req("from", T::String, "the source, relative to the home");
const TO: Field = req("to", T::String, "the destination, relative to the home; must not exist");

const fn action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: crate::registry::Handler,
) -> Action {
    crate::registry::account_action("fileman", name, summary, read_only, fields, handler)
}

pub const ACTIONS: &[Action] = &[
    action(
        "list",
        "A folder's entries (symlinks shown, not followed)",
        true,
        &[USERNAME, PATH],
        list,
    ),
    action(
        "download",
        "A file's bytes, streamed; honours `Range: bytes=...` (206)",
        true,
        &[USERNAME, PATH],
        download,
    ),
    action(
        "upload",
        "multipart/form-data: `path` (the folder, first), then `file`; within the quota",
        false,
        &[USERNAME, PATH, req("file", T::String, "the file's content (multipart)")],
        upload_via_json,
    ),
    action(
        "extract",
        "Extract zip, tar, tar.gz or tar.zst into a folder; unsafe entries skipped",
        false,
        &[USERNAME, PATH, req("dest", T::String, "the folder to extract into")],
        extract,
    ),
    action(
        "edit",
        "GET reads a text file; POST with `content` replaces it, keeping its mode",
        true,
        &[USERNAME, PATH, opt("content", T::String, "the new text (POST)")],
        edit,
    ),
    action(
        "chmod",
        "Set permission bits (no setuid, setgid or sticky; symlinks refused)",
        false,
        &[USERNAME, PATH, req("mode", T::String, "octal, e.g. \"0644\"")],
        chmod,
    ),
    action("mkdir", "Create a folder", false, &[USERNAME, PATH], mkdir),
    action(
        "delete",
        "Delete a file, or a folder with its contents",
        false,
        &[USERNAME, PATH],
        delete,
    ),
    action("rename", "Rename or move within the home", false, &[USERNAME, FROM, TO], rename),
    action("copy", "Copy a file or a folder within the home", false, &[USERNAME, FROM, TO], copy),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let cases: &[(&str, Option<Wanted>)] = &[
            ("bytes=0-99", Some(Wanted::From(0, Some(99)))),
            ("bytes=100-", Some(Wanted::From(100, None))),
            ("bytes=-500", Some(Wanted::Last(500))),
            ("bytes=5-4", None),
            ("bytes=0-1,5-6", None),
            ("items=0-1", None),
            ("bytes=-0", None),
            ("bytes=x-1", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_range(value), *expected, "{value}");
        }
    }

    #[test]
    fn filenames_are_quoted_safely() {
        assert_eq!(safe_filename("a b\".txt"), "a_b_.txt");
        assert_eq!(safe_filename(""), "download");
    }
}
