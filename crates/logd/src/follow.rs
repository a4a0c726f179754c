//! Following a log file (the shared access log, BIND's query log, the mail logs)
//! through rotation, and resuming exactly.
//!
//! The follower holds the log open and reads it with `pread` from the end of the
//! last complete line it consumed (`offset`). Every consumed line also advances a
//! *stream position* that never goes back, across files: it is what the day files'
//! `applied_through` marks refer to.
//!
//! Rotation, polled every half second (polling needs no extra dependency and one
//! `stat` per poll is nothing; inotify would also miss copy-truncate's in-place
//! truncation, which still needs a size check):
//! - rename + create: the path names another inode. The old file is drained for a
//!   grace second (nginx writes to it until it reopens its logs), then the new one
//!   is read from its start;
//! - copy-truncate: the file is shorter than `offset`, or its first 64 bytes are not
//!   those seen before (it was truncated and refilled between two polls); it is read
//!   again from its start. A refill whose first 64 bytes equal the old ones (same
//!   host, address and second) is not told apart. FIXME: lines written between the
//!   copy and the truncation
//!   are in the copy only and are not counted; that race belongs to copy-truncate.
//!
//! Restart: the checkpoint names (device, inode, offset). If the path still has that
//! inode, reading resumes at `offset`; if a rotated sibling (`hspanel-access.log.1`,
//! ...) has it, that one is finished first; if neither, the current file is read from
//! its start and the loss is logged.
//!
//! Ordering, which makes a crash anywhere lose and double nothing: (1) day files are
//! written, each with the stream position of the last line it counts; (2) then the
//! checkpoint, atomically. A crash before (2) replays lines from the older checkpoint;
//! the day files already written skip them by their mark, the others count them.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hs_config::fsutil;
use serde::{Deserialize, Serialize};

use crate::agg::{Aggregator, Counters};
use crate::parse::MAX_LINE;
use crate::sketch::hash64;

const CHUNK: usize = 1 << 20;
const HEAD: usize = 64;
const ROTATION_GRACE: Duration = Duration::from_secs(1);

/// Where a follower's complete lines go: the web aggregator, or a DNS or mail
/// tally (one follower per log file, each with its own checkpoint).
pub trait Sink {
    /// Counts one line that ends at stream position `pos`.
    fn apply(&mut self, line: &[u8], pos: u64);
    /// This stream's line counters (persisted with its checkpoint).
    fn counters(&mut self) -> &mut Counters;
}

impl Sink for Aggregator {
    fn apply(&mut self, line: &[u8], pos: u64) {
        Aggregator::apply(self, line, pos);
    }

    fn counters(&mut self) -> &mut Counters {
        &mut self.counters
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub version: u32,
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    /// Hash of the file's first 64 bytes, once it has that many (0 before).
    pub head: u64,
    /// Inside an overlong line that is being skipped up to its newline.
    pub skipping: bool,
    pub stream_pos: u64,
    pub counters: Counters,
}

impl Checkpoint {
    pub fn read(path: &Path) -> Option<Checkpoint> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice::<Checkpoint>(&bytes).ok().filter(|c| c.version == 1)
    }

    pub fn write(&self, path: &Path) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        fsutil::write_atomic(path, &text, 0o644)
    }
}

#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    dev: u64,
    ino: u64,
    offset: u64,
    head: u64,
    skipping: bool,
    stream_pos: u64,
    /// Bytes read past `offset` that do not end in a newline yet.
    buf: Vec<u8>,
    rotation_seen: Option<Instant>,
}

impl Follower {
    /// Starts at the checkpoint, or at the start of the current file without one.
    pub fn resume(path: &Path, checkpoint: Option<&Checkpoint>, agg: &mut impl Sink) -> Follower {
        let mut f = Follower {
            path: path.to_path_buf(),
            file: None,
            dev: 0,
            ino: 0,
            offset: 0,
            head: 0,
            skipping: false,
            stream_pos: 0,
            buf: Vec::new(),
            rotation_seen: None,
        };
        let Some(cp) = checkpoint else { return f };
        f.stream_pos = cp.stream_pos;
        *agg.counters() = cp.counters.clone();
        let found = open_inode(path, cp.dev, cp.ino);
        match found {
            Some((file, is_current)) => {
                f.file = Some(file);
                (f.dev, f.ino, f.offset, f.head, f.skipping) =
                    (cp.dev, cp.ino, cp.offset, cp.head, cp.skipping);
                if !is_current {
                    f.rotation_seen = Some(Instant::now());
                }
            }
            None => tracing::warn!(
                path = %path.display(),
                "the checkpointed log file is gone; reading the current one from its start"
            ),
        }
        f
    }

    pub fn checkpoint(&self, counters: &Counters) -> Checkpoint {
        Checkpoint {
            version: 1,
            dev: self.dev,
            ino: self.ino,
            offset: self.offset,
            head: self.head,
            skipping: self.skipping,
            stream_pos: self.stream_pos,
            counters: counters.clone(),
        }
    }

    pub fn stream_pos(&self) -> u64 {
        self.stream_pos
    }

    /// Reads everything available now; returns the number of bytes consumed.
    pub fn poll(&mut self, agg: &mut impl Sink) -> io::Result<u64> {
        let start = self.stream_pos;
        if self.file.is_none() && !self.open_current()? {
            return Ok(0);
        }
        self.check_truncation()?;
        self.read_available(agg)?;
        if self.rotated()? {
            let grace_over = self.rotation_seen.is_some_and(|t| t.elapsed() >= ROTATION_GRACE);
            if grace_over {
                self.read_available(agg)?;
                self.finish_file(agg);
                if self.open_current()? {
                    self.read_available(agg)?;
                }
            } else if self.rotation_seen.is_none() {
                self.rotation_seen = Some(Instant::now());
            }
        }
        Ok(self.stream_pos - start)
    }

    fn open_current(&mut self) -> io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        (self.dev, self.ino, self.offset, self.head, self.skipping) =
            (meta.dev(), meta.ino(), 0, 0, false);
        self.buf.clear();
        self.rotation_seen = None;
        self.file = Some(file);
        Ok(true)
    }

    /// Has the path been given to another file (or removed)?
    fn rotated(&self) -> io::Result<bool> {
        match std::fs::metadata(&self.path) {
            Ok(m) => Ok(m.dev() != self.dev || m.ino() != self.ino),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// A file shorter than what was read, or with another beginning, was truncated.
    fn check_truncation(&mut self) -> io::Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let size = file.metadata()?.len();
        let mut truncated = size < self.offset + self.buf.len() as u64;
        if !truncated && self.head != 0 {
            truncated = head_hash(file)? != Some(self.head);
        }
        if truncated {
            tracing::info!(path = %self.path.display(), "log truncated; reading from its start");
            (self.offset, self.head, self.skipping) = (0, 0, false);
            self.buf.clear();
        }
        Ok(())
    }

    fn read_available(&mut self, agg: &mut impl Sink) -> io::Result<()> {
        let Some(file) = self.file.take() else { return Ok(()) };
        let result = self.read_file(&file, agg);
        self.file = Some(file);
        result
    }

    fn read_file(&mut self, file: &File, agg: &mut impl Sink) -> io::Result<()> {
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let at = self.offset + self.buf.len() as u64;
            let n = file.read_at(&mut chunk, at)?;
            if n == 0 {
                break;
            }
            self.buf.extend_from_slice(&chunk[..n]);
            self.consume(agg);
            if self.head == 0 && self.offset >= HEAD as u64 {
                self.head = head_hash(file)?.unwrap_or(0);
            }
        }
        Ok(())
    }

    /// Applies every complete line in `buf`; an overlong line is skipped whole.
    fn consume(&mut self, agg: &mut impl Sink) {
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl;
            let len = (end - start + 1) as u64;
            self.offset += len;
            self.stream_pos += len;
            if self.skipping {
                self.skipping = false;
                agg.counters().lines += 1;
                agg.counters().rejected_bytes += 1;
            } else {
                agg.apply(&self.buf[start..end], self.stream_pos);
            }
            start = end + 1;
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE {
            // Too long to be a line nginx wrote: forget it up to its newline.
            let len = self.buf.len() as u64;
            self.offset += len;
            self.stream_pos += len;
            self.buf.clear();
            self.skipping = true;
        }
    }

    /// The old file after a rotation: a last line without a newline still counts.
    fn finish_file(&mut self, agg: &mut impl Sink) {
        if !self.buf.is_empty() {
            let len = self.buf.len() as u64;
            self.offset += len;
            self.stream_pos += len;
            if self.skipping {
                agg.counters().lines += 1;
                agg.counters().rejected_bytes += 1;
            } else {
                let line = std::mem::take(&mut self.buf);
                agg.apply(&line, self.stream_pos);
            }
            self.buf.clear();
        }
        self.file = None;
    }
}

fn head_hash(file: &File) -> io::Result<Option<u64>> {
    let mut head = [0u8; HEAD];
    let n = file.read_at(&mut head, 0)?;
    Ok((n == HEAD).then(|| hash64(&head)))
}

/// The file with this inode: the log itself (`true`) or a rotated sibling.
fn open_inode(path: &Path, dev: u64, ino: u64) -> Option<(File, bool)> {
    let same = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.dev() == dev && m.ino() == ino);
    if same(path) {
        return File::open(path).ok().map(|f| (f, true));
    }
    let dir = path.parent()?;
    let stem = path.file_name()?.to_str()?;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(stem) && name != stem && same(&entry.path()) {
            return File::open(entry.path()).ok().map(|f| (f, false));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use hs_config::Layout;

    use super::*;
    use crate::agg::{Hosts, read_day};

    fn line(host: &str, bytes: u64) -> String {
        format!(
            "{host} 10.0.{}.{} - - [03/Dec/2026:17:43:10 +0000] \
             \"GET /p HTTP/1.1\" 200 {bytes} \"-\" \"t\"\n",
            bytes / 200,
            bytes % 200
        )
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn totals(layout: &Layout, host: &str) -> (u64, u64) {
        read_day(layout, &host.parse().unwrap(), "2026-12-03").map_or((0, 0), |d| (d.hits, d.bytes))
    }

    /// A fresh aggregator and follower from whatever checkpoint is on disk: a restart.
    fn start(layout: &Layout, log: &Path, cp: &Path) -> (Aggregator, Follower) {
        let mut agg = Aggregator::new(Hosts::Any, Some(layout.clone()));
        let f = Follower::resume(log, Checkpoint::read(cp).as_ref(), &mut agg);
        (agg, f)
    }

    fn save(agg: &mut Aggregator, f: &Follower, cp: &Path) {
        agg.flush().unwrap();
        f.checkpoint(&agg.counters).write(cp).unwrap();
    }

    #[test]
    fn rotations_and_crashes_lose_and_double_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path());
        let log = dir.path().join("access.log");
        let cp = dir.path().join("checkpoint.json");
        let expected = std::cell::Cell::new((0u64, 0u64));
        let write = |n: u64, from: u64| {
            let text: String = (from..from + n).map(|i| line("a.test", i)).collect();
            append(&log, &text);
            let (h, b) = expected.get();
            expected.set((h + n, b + (from..from + n).sum::<u64>()));
        };

        write(100, 1);
        let (mut agg, mut f) = start(&layout, &log, &cp);
        f.poll(&mut agg).unwrap();
        save(&mut agg, &f, &cp);

        // Crash after the day files, before the checkpoint: the replay is skipped.
        write(50, 1000);
        f.poll(&mut agg).unwrap();
        agg.flush().unwrap();
        let (mut agg, mut f) = start(&layout, &log, &cp);

        // rename + create; the old file gets a last line before nginx reopens.
        std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
        append(&dir.path().join("access.log.1"), &line("a.test", 7));
        expected.set((expected.get().0 + 1, expected.get().1 + 7));
        write(30, 2000);
        f.poll(&mut agg).unwrap();
        save(&mut agg, &f, &cp);
        // Restarted during the grace second: the rotated file is found by inode.
        let (mut agg, mut f) = start(&layout, &log, &cp);
        f.poll(&mut agg).unwrap();
        std::thread::sleep(ROTATION_GRACE);
        f.poll(&mut agg).unwrap();
        save(&mut agg, &f, &cp);

        // copy-truncate, then refilled past the old offset before the next poll.
        std::fs::copy(&log, dir.path().join("access.log.2")).unwrap();
        std::fs::File::create(&log).unwrap();
        write(40, 3000);
        f.poll(&mut agg).unwrap();
        save(&mut agg, &f, &cp);

        // An overlong line and hostile lines are rejected, not counted.
        append(&log, &format!("{}\n", "x".repeat(MAX_LINE * 3)));
        append(
            &log,
            "a.test 1.1.1.1 - - [03/Dec/2026:17:43:10 +0000] \
             \"GET /\"},{\" HTTP/1.1\" 200 9 \"-\" \"t\"\n",
        );
        write(5, 4000);
        let (mut agg, mut f) = start(&layout, &log, &cp);
        f.poll(&mut agg).unwrap();
        save(&mut agg, &f, &cp);

        assert_eq!(totals(&layout, "a.test"), expected.get());
        assert_eq!(agg.counters.rejected(), 2);
        assert_eq!(agg.counters.accepted, expected.get().0);
    }
}
