//! `hspanel files ...`: HS::FileManager from the command line, as the
//! administrator. Every operation runs in the `hs-fileop` helper as the
//! account's user, exactly as through the API; `get` and `put` stream
//! (`-` is stdout or stdin).

use std::io::Write;

use clap::Subcommand;
use hs_modules::fileman;
use hs_modules::{Actor, Panel};
use hs_types::{FileMode, FilePath, Username};

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum FilesCmd {
    /// List a folder of the account's home (`/` is the home).
    Ls {
        username: String,
        #[arg(default_value = "/")]
        path: String,
    },
    /// Download a file to LOCAL (`-`: stdout).
    Get {
        username: String,
        path: String,
        #[arg(default_value = "-")]
        local: String,
    },
    /// Upload LOCAL (`-`: stdin) as the file PATH, within the quota.
    Put {
        username: String,
        local: String,
        path: String,
    },
    Mkdir {
        username: String,
        path: String,
    },
    /// Delete a file, or a folder with its contents.
    Rm {
        username: String,
        path: String,
    },
    Mv {
        username: String,
        from: String,
        to: String,
    },
    Cp {
        username: String,
        from: String,
        to: String,
    },
    /// Set permission bits, e.g. `0644` (no setuid, setgid or sticky).
    Chmod {
        username: String,
        mode: String,
        path: String,
    },
}

pub(crate) fn run(
    panel: &Panel,
    admin: &Actor,
    op: &str,
    out: &Out,
    cmd: FilesCmd,
) -> anyhow::Result<()> {
    let user = |name: &str| name.parse::<Username>();
    let path = |p: &str| p.parse::<FilePath>();
    let done = |value: serde_json::Value| out.say(&value, "");
    match cmd {
        FilesCmd::Ls { username, path: p } => {
            let listing = fileman::list(panel, admin, &user(&username)?, &path(&p)?, op)?;
            let lines: Vec<String> = listing["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let field = |k: &str| e[k].as_str().unwrap_or("").to_string();
                    format!(
                        "{} {:>12} {:<7} {}",
                        field("mode"),
                        e["size"],
                        field("type"),
                        field("name")
                    )
                })
                .collect();
            out.say(&listing, &lines.join("\n"))
        }
        FilesCmd::Get { username, path: p, local } => {
            let download =
                fileman::download(panel, admin, &user(&username)?, &path(&p)?, 0, None, op)?;
            if local == "-" {
                let stdout = std::io::stdout();
                let mut lock = stdout.lock();
                fileman::download_into(download, &mut lock)?;
                lock.flush()?;
                Ok(())
            } else {
                let mut file = std::fs::File::create(&local)?;
                let n = fileman::download_into(download, &mut file)?;
                out.say(&serde_json::json!({ "path": p, "bytes": n }), &format!("{n} bytes"))
            }
        }
        FilesCmd::Put { username, local, path: p } => {
            let target = path(&p)?;
            let text = target.as_str();
            let (dir, name) = text.rsplit_once('/').unwrap_or(("", text));
            let dir: FilePath = dir.parse()?;
            let upload = fileman::upload(panel, admin, &user(&username)?, &dir, name, op)?;
            let result = if local == "-" {
                fileman::upload_from(upload, std::io::stdin().lock())?
            } else {
                let file = std::fs::File::open(&local)?;
                fileman::upload_from(upload, std::io::BufReader::with_capacity(1 << 16, file))?
            };
            out.say(&result, "uploaded")
        }
        FilesCmd::Mkdir { username, path: p } => {
            done(fileman::mkdir(panel, admin, &user(&username)?, &path(&p)?, op)?)
        }
        FilesCmd::Rm { username, path: p } => {
            done(fileman::delete(panel, admin, &user(&username)?, &path(&p)?, op)?)
        }
        FilesCmd::Mv { username, from, to } => {
            done(fileman::rename(panel, admin, &user(&username)?, &path(&from)?, &path(&to)?, op)?)
        }
        FilesCmd::Cp { username, from, to } => {
            done(fileman::copy(panel, admin, &user(&username)?, &path(&from)?, &path(&to)?, op)?)
        }
        FilesCmd::Chmod { username, mode, path: p } => {
            let mode: FileMode = mode.parse()?;
            done(fileman::chmod(panel, admin, &user(&username)?, &path(&p)?, &mode, op)?)
        }
    }
}
