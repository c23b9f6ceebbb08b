use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::trends::keyness::keyness;
use crate::trends::stats::Correction;
use crate::write::manifest::run_id_in;
use crate::write::staging::Staging;
use crate::write::{schema, tables};

use super::common::Common;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Output folder of a `themeshift run`.
    run: PathBuf,
    /// Target period (e.g. 2013).
    #[arg(long)]
    a: String,
    /// Reference period (e.g. 2023).
    #[arg(long)]
    b: String,
    /// Terms to print on each side.
    #[arg(long, default_value_t = 20)]
    top: usize,
    #[arg(long, value_enum, default_value_t = Correction::Default)]
    correction: Correction,
    /// Rows need this many occurrences on the two sides together.
    #[arg(long, default_value_t = 1)]
    min_count: u64,
    #[command(flatten)]
    common: Common,
}

/// Keyness of period a against period b from a run's term counts; prints both ends and writes
/// `keyness_<a>_vs_<b>.parquet` into the run folder.
pub fn run(args: CompareArgs) -> anyhow::Result<u8> {
    args.common.start()?;
    // Like every command that writes into a run: the run's lock held throughout, and the new file
    // added by swapping in a staging copy of the folder.
    let staging = Staging::begin(&args.run)?;
    staging.carry_over()?;
    let frame = tables::read_parquet(&args.run, &schema::TERM_TRENDS)?;
    let (terms, periods, counts) =
        (frame.column("term")?.str()?, frame.column("period")?.str()?, frame.column("count")?.u64()?);
    let mut by_term: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for ((term, period), count) in terms.iter().zip(periods.iter()).zip(counts.iter()) {
        let (Some(term), Some(period), Some(count)) = (term, period, count) else { continue };
        seen.insert(period);
        let entry = by_term.entry(term).or_default();
        if period == args.a {
            entry.0 += count;
        } else if period == args.b {
            entry.1 += count;
        }
    }
    for period in [&args.a, &args.b] {
        if !seen.contains(period.as_str()) {
            let known = seen.into_iter().collect::<Vec<_>>().join(", ");
            bail!("no period '{period}' in {} (periods: {known})", args.run.join(schema::TERM_TRENDS.file).display());
        }
    }
    let names: Vec<String> = by_term.keys().map(|t| t.to_string()).collect();
    let target: Vec<u64> = by_term.values().map(|v| v.0).collect();
    let reference: Vec<u64> = by_term.values().map(|v| v.1).collect();
    let rows = keyness(&target, &reference, (&args.a, &args.b), args.correction, args.min_count);
    for (title, side) in [
        (format!("over-used in {} (vs {})", args.a, args.b), rows.iter().collect::<Vec<_>>()),
        (format!("over-used in {} (vs {})", args.b, args.a), rows.iter().rev().collect()),
    ] {
        println!("{title}:");
        println!("  {:<14} {:>10} {:>9} {:>8} {:>8}", "term", "G²", "log2 ratio", args.a, args.b);
        for k in side.into_iter().take(args.top) {
            println!(
                "  {:<14} {:>10.2} {:>9.2} {:>8} {:>8}",
                names[k.term], k.g2, k.log_ratio, k.count_target, k.count_reference
            );
        }
    }
    let file = format!("keyness_{}_vs_{}.parquet", args.a, args.b);
    tables::write_parquet(&staging.dir.join(&file), tables::keyness(&names, &rows), &run_id_in(&args.run))?;
    theme_keyness(&args)?;
    staging.commit()?;
    println!("wrote {}", args.run.join(file).display());
    Ok(0)
}

/// Themes pool their terms, so two short periods that differ in many rare terms still show which
/// themes moved: G² of a theme's hits against the period's tokens.
fn theme_keyness(args: &CompareArgs) -> anyhow::Result<()> {
    let periods = tables::read_parquet(&args.run, &schema::PERIODS)?;
    let tokens_of = |name: &str| -> anyhow::Result<f64> {
        let (p, n) = (periods.column("period")?.str()?, periods.column("n_tokens")?.u64()?);
        Ok(p.iter().zip(n.iter()).find(|(p, _)| *p == Some(name)).and_then(|(_, n)| n).unwrap_or(0) as f64)
    };
    let (total_a, total_b) = (tokens_of(&args.a)?, tokens_of(&args.b)?);
    let themes = tables::read_parquet(&args.run, &schema::THEMES)?;
    let (theme, label, period, hits) = (
        themes.column("theme")?.str()?,
        themes.column("label")?.str()?,
        themes.column("period")?.str()?,
        themes.column("hits")?.f64()?,
    );
    let mut by_theme: BTreeMap<(usize, String), (f64, f64)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for i in 0..themes.height() {
        let (Some(t), Some(l), Some(p), Some(h)) = (theme.get(i), label.get(i), period.get(i), hits.get(i)) else {
            continue;
        };
        let key = format!("{t} {l}");
        let k = order.iter().position(|o| *o == key).unwrap_or_else(|| {
            order.push(key.clone());
            order.len() - 1
        });
        let entry = by_theme.entry((k, key)).or_default();
        if p == args.a {
            entry.0 += h;
        } else if p == args.b {
            entry.1 += h;
        }
    }
    println!("themes, {} against {} (hits; G² over the periods' tokens):", args.a, args.b);
    println!("  {:<34} {:>8} {:>8} {:>10} {:>10}", "theme", args.a, args.b, "G²", "log2 ratio");
    for ((_, name), (a, b)) in &by_theme {
        let g = crate::trends::stats::g2(*a, *b, total_a, total_b, args.correction);
        let lr = crate::trends::stats::log_ratio(*a, *b, total_a, total_b);
        println!("  {name:<34} {a:>8.1} {b:>8.1} {g:>10.2} {lr:>10.2}");
    }
    Ok(())
}
