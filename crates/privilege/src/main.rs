//! `hs-fileop USER HOME`: one file operation as USER, confined to HOME.
//!
//! Started by hs-srvd (root) per operation. `main` hands over to
//! [`hs_fileop::run`] at once: the privilege drop is the first thing it does,
//! and no thread is ever started.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::ExitCode::from(hs_fileop::run(&args))
}
