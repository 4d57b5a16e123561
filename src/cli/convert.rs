//! `faultline convert IN OUT`: any supported history format to faultline JSONL.

use crate::history::import::{self, Format, ImportOptions, Independent};
use crate::history::jsonl;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `faultline convert`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input history (`-` for stdin).
    pub input: PathBuf,
    /// Output JSONL file (`-` for stdout).
    pub output: PathBuf,
    /// Input format: jsonl, edn, porcupine-etcd or porcupine-kv (default: detect from content).
    #[arg(long)]
    pub format: Option<Format>,
    /// Split Jepsen `independent` `[key value]` tuples into key and value.
    #[arg(long)]
    pub independent: bool,
}

/// The import options both `convert` and `check` build from their flags.
pub fn import_options(format: Option<Format>, independent: bool) -> ImportOptions {
    ImportOptions {
        format,
        independent: if independent {
            Independent::Split
        } else {
            Independent::Auto
        },
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let imported = import::import_path(&args.input, &import_options(args.format, args.independent))?;
    let h = &imported.history;
    for w in &h.warnings {
        eprintln!("warning: {w}");
    }
    if args.output.as_os_str() == "-" {
        to_stdout(|w| jsonl::write(h, w))?;
    } else {
        jsonl::write_file(h, &args.output).with_context(|| format!("writing {}", args.output.display()))?;
        eprintln!(
            "{}: {} ops ({}) -> {}",
            args.input.display(),
            h.len(),
            imported.format,
            args.output.display()
        );
    }
    Ok(crate::exit::VALID)
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn to_stdout(
    f: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match f(&mut out).and_then(|()| std::io::Write::flush(&mut out)) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}
