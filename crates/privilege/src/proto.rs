//! The wire protocol between hs-srvd and the helper, shared by both sides.
//!
//! The parent writes one JSON [`Request`] line on the helper's stdin. For a
//! `write`, the content follows as frames: a 4-byte big-endian length, then that
//! many bytes; a zero length ends the content. The helper answers one JSON
//! [`Response`] line on stdout; after a successful `read` exactly `length` raw
//! bytes follow. One operation per helper process.

use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};

/// Largest frame of content the helper accepts.
pub const MAX_FRAME: usize = 1024 * 1024;

/// Largest request line.
pub const MAX_LINE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    List {
        path: String,
    },
    /// The file from `offset`, at most `length` bytes (all of it when absent).
    /// With `max_size`, a larger file is refused.
    Read {
        path: String,
        #[serde(default)]
        offset: u64,
        #[serde(default)]
        length: Option<u64>,
        #[serde(default)]
        max_size: Option<u64>,
    },
    /// Replace or create a file with the framed content: a temporary file in the
    /// same folder, renamed over the target when complete. An existing file keeps
    /// its mode. `quota_bytes` bounds the whole home's usage afterwards.
    Write {
        path: String,
        #[serde(default)]
        quota_bytes: Option<u64>,
        #[serde(default)]
        max_size: Option<u64>,
        /// Refuse content with NUL bytes (the editor's writes).
        #[serde(default)]
        text: bool,
    },
    Mkdir {
        path: String,
    },
    Delete {
        path: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Copy {
        from: String,
        to: String,
        #[serde(default)]
        quota_bytes: Option<u64>,
    },
    Chmod {
        path: String,
        mode: u32,
    },
    /// Bytes used by the home's regular files.
    Usage,
    /// Unpack the archive `path` into the existing folder `dest`, within
    /// `max_entries`, `max_bytes` written and the quota.
    Extract {
        path: String,
        dest: String,
        #[serde(default)]
        quota_bytes: Option<u64>,
        max_entries: u64,
        max_bytes: u64,
    },
    /// HS::Backup: the raw tar stream that follows the request (to the end of
    /// stdin) is unpacked beneath the home: entries at or below `from` go to
    /// `to` (home-relative), keeping modes, times, symlinks and hardlinks.
    RestoreTree {
        from: String,
        to: String,
        #[serde(default)]
        overwrite: bool,
    },
}

/// What went wrong, so the parent can map it to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Invalid,
    NotFound,
    Forbidden,
    Conflict,
    Limit,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    Ok { result: serde_json::Value },
    Error { kind: ErrorKind, message: String },
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// `file`, `dir`, `symlink` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    /// Permission bits as an octal string, e.g. `"0644"`.
    pub mode: String,
    pub uid: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The header of a `read`'s answer; `length` bytes follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadHeader {
    pub size: u64,
    pub offset: u64,
    pub length: u64,
    pub mode: u32,
}

pub fn write_line<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// One JSON line, at most [`MAX_LINE`] bytes.
pub fn read_line<T: for<'de> Deserialize<'de>>(input: &mut impl BufRead) -> io::Result<T> {
    let mut line = Vec::new();
    input.take(MAX_LINE).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "no complete request line"));
    }
    serde_json::from_slice(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

pub fn write_frame(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    for chunk in bytes.chunks(MAX_FRAME) {
        out.write_all(&(chunk.len() as u32).to_be_bytes())?;
        out.write_all(chunk)?;
    }
    Ok(())
}

pub fn write_end(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&0u32.to_be_bytes())?;
    out.flush()
}

/// The next frame into `buf`; `Ok(false)` at the end marker.
pub fn read_frame(input: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 {
        return Ok(false);
    }
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too large"));
    }
    buf.resize(len, 0);
    input.read_exact(buf)?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, &vec![7u8; MAX_FRAME + 3]).unwrap();
        write_end(&mut wire).unwrap();
        let mut input = &wire[..];
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while read_frame(&mut input, &mut buf).unwrap() {
            got.push(buf.len());
        }
        assert_eq!(got, vec![5, MAX_FRAME, 3]);
    }

    #[test]
    fn requests_parse_strictly() {
        let cases: &[(&str, bool)] = &[
            (r#"{"op":"list","path":"/"}"#, true),
            (r#"{"op":"chmod","path":"a","mode":420}"#, true),
            (r#"{"op":"usage"}"#, true),
            (r#"{"op":"list","path":"/","extra":1}"#, false),
            (r#"{"op":"format_disk"}"#, false),
        ];
        for (line, ok) in cases {
            let parsed = read_line::<Request>(&mut format!("{line}\n").as_bytes());
            assert_eq!(parsed.is_ok(), *ok, "{line}");
        }
    }
}
