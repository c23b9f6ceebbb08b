use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::ingest::encoding::{by_name, decode};

use super::common::Common;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// A text file in UTF-8, UTF-16 (with BOM), GB18030/GBK or Big5.
    file: PathBuf,
    /// Force an encoding instead of detecting it.
    #[arg(long)]
    encoding: Option<String>,
    #[command(flatten)]
    common: Common,
}

/// Print the file as UTF-8 on stdout and the encoding found on stderr: a check of what ingest sees.
pub fn run(args: DecodeArgs) -> anyhow::Result<u8> {
    args.common.start()?;
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let forced = args.encoding.as_deref().map(by_name).transpose()?;
    let (text, encoding) = decode(&bytes, &args.file, forced)?;
    if !args.common.quiet {
        eprintln!("{}: {encoding}", args.file.display());
    }
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}
