use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::ingest::header::split_header;
use crate::segment::keywords::KeywordExtractor;

use super::common::Common;

#[derive(Debug, Args)]
pub struct KeywordsArgs {
    /// A UTF-8 text file. Its title and body are used; the other header lines (关键词, source, 发布时间) are not.
    file: PathBuf,
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Print the weights beside the words.
    #[arg(long)]
    weights: bool,
    #[command(flatten)]
    common: Common,
}

pub fn run(args: KeywordsArgs) -> anyhow::Result<u8> {
    args.common.start()?;
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid UTF-8 at byte {}; convert it to UTF-8 first",
            args.file.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let (header, body) = split_header(text.trim_start_matches('\u{FEFF}'));
    let article = match header.title {
        Some(title) => format!("{title}\n{body}"),
        None => body.to_string(),
    };
    let extractor = KeywordExtractor::new(jieba_rs::Jieba::new());
    for keyword in extractor.extract(&article, args.top) {
        if args.weights {
            println!("{}\t{:.6}", keyword.word, keyword.weight);
        } else {
            println!("{}", keyword.word);
        }
    }
    Ok(0)
}
