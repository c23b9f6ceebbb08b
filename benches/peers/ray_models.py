"""Models' shards on Ray actors against the same fits in process (issue 14): for LDA, the theme model, NMF and
LSA + k-means, the model's stage time, what an iteration costs more, and whether the model's tables are the same.
Writes BENCHMARKS.md's "Models on Ray actors" section and BENCHMARKS-ray-models.json (rows of models not run this
time are kept from the JSON).

usage: ray_models.py BINARY SHARED_DIR [--models lda theme_model nmf lsa] [--k 20] [--iterations 300] [--chains 1]
                     [--num-cpus 2] [--shard-mb 64]

Both sides run the full xwlb corpus with one model (`--topics lda|nmf`, `--topics none --theme-model`, or
`--topics none` with the clusters) and no charts; the Ray run forces `models_on_workers=True` (on one machine it would
otherwise keep the models on the driver). A topic model's stage includes coherence, the same on both sides.
"""
import argparse
import filecmp
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import themeshift.ray

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from sections import replace_section  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("bin")
ap.add_argument("shared", type=pathlib.Path)
ap.add_argument("--models", nargs="+", choices=["lda", "theme_model", "nmf", "lsa"],
                default=["lda", "theme_model", "nmf", "lsa"])
ap.add_argument("--k", type=int, default=20, help="LDA's topics")
ap.add_argument("--iterations", type=int, default=300, help="sweeps of either model")
ap.add_argument("--chains", type=int, default=1, help="the theme model's chains")
ap.add_argument("--num-cpus", type=int, default=2)
ap.add_argument("--shard-mb", type=float, default=64)
ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2] / "BENCHMARKS.md")
args = ap.parse_args()
corpus = args.shared / "corpus" / "xwlb"
# Per model: its options (as themeshift.run takes them), its stage in the manifest, and its tables. Only the model
# asked for runs: the others are off (clusters = 0, topics none).
TOPIC_TABLES = ["topics", "doc_topics", "topic_trends", "topic_representatives", "coherence"]
MODELS = {
    "lda": ({"topics": ["lda"], "k": [args.k], "lda_iterations": args.iterations, "clusters": 0}, "topics",
            TOPIC_TABLES),
    "theme_model": ({"topics": ["none"], "theme_model_iterations": args.iterations, "clusters": 0,
                     "theme_model_chains": args.chains}, "theme model",
                    ["theme_model", "doc_themes", "theme_prevalence", "theme_words_by_period"]),
    "nmf": ({"topics": ["nmf"], "k": [args.k], "clusters": 0}, "topics", TOPIC_TABLES),
    "lsa": ({"topics": ["none"]}, "cluster", ["clusters", "cluster_representatives", "cluster_trends"]),
}
WHAT = {"lda": f"LDA, k = {args.k}", "theme_model": f"theme model, {args.chains} chain(s)", "nmf": f"NMF, k = {args.k}",
        "lsa": "LSA + k-means, k = 20"}


def iterations_of(run_dir, model):
    """Sweeps or iterations the fit took: as asked for the samplers, from the manifest for NMF and k-means."""
    models = json.loads((run_dir / "manifest.json").read_text())["models"]
    if model == "nmf":
        return models["topics"][0]["iterations"]
    if model == "lsa":
        return models["clusters"]["iterations"]
    return args.iterations * (args.chains if model == "theme_model" else 1)


def stage_seconds(run_dir, stage):
    return next(s["seconds"] for s in json.loads((run_dir / "manifest.json").read_text())["stages"]
                if s["stage"] == stage)


def cli_flags(options):
    flags = []
    for name, value in options.items():
        flags += [f"--{name.replace('_', '-')}", ",".join(map(str, value if isinstance(value, list) else [value]))]
    return flags


rows = []
for model in args.models:
    options, stage, tables = MODELS[model]
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        start = time.perf_counter()
        subprocess.run([args.bin, "run", "--input", corpus, "--out", work / "local", *cli_flags(options),
                        "--charts", "none", "--shard-mb", str(args.shard_mb), "--threads", str(args.num_cpus),
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        row = {"model": model, "in_process_wall": time.perf_counter() - start,
               "in_process_stage": stage_seconds(work / "local", stage)}
        start = time.perf_counter()
        run = themeshift.ray.run([corpus], out=work / "ray", shard_mb=args.shard_mb, num_cpus=args.num_cpus,
                                 charts=["none"], models_on_workers=True, **options)
        row["ray_wall"] = time.perf_counter() - start
        row["ray_stage"] = stage_seconds(run.path, stage)
        row["models_on_workers"] = run.manifest["sharding"]["models_on_workers"]
        row["differ"] = [t for t in tables if not filecmp.cmp(work / "local" / f"{t}.parquet",
                                                              run.path / f"{t}.parquet", shallow=False)]
        sweeps = iterations_of(work / "local", model)
    row.update(what=WHAT[model], sweeps=sweeps, num_cpus=args.num_cpus, extra_ms_per_sweep=1000 * (row["ray_stage"] - row[
        "in_process_stage"]) / sweeps)
    print(json.dumps(row), flush=True)
    rows.append(row)

kept = pathlib.Path(args.out).with_name("BENCHMARKS-ray-models.json")
earlier = json.loads(kept.read_text()) if kept.exists() else []
run_now = {row["model"] for row in rows}
rows = [row for row in earlier if row["model"] not in run_now] + rows
rows.sort(key=lambda row: list(MODELS).index(row["model"]))
md = ["## Models on Ray actors", "",
      f"Generated by `benches/peers/ray_models.py --k {args.k} --iterations {args.iterations} --chains {args.chains} "
      f"--num-cpus {args.num_cpus}` (a row per model; models not run in an invocation keep their earlier row): the "
      "full xwlb corpus with one model at a time (`--topics lda|nmf`; `--topics none --theme-model` with the shipped "
      "lexicon and 30 free topics; `--topics none` with the default clusters), in process "
      f"(`--threads {args.num_cpus}`) and on a local Ray with {args.num_cpus} CPUs with the model's shards on actors "
      "(`models_on_workers=True`; one actor per CPU): the samplers' 8 fixed shards; NMF's and LSA's the plan's "
      f"({args.shard_mb:g} MB shards), each actor making its shards' rows of the TF-IDF matrix from their tokens. A topic model's stage includes coherence (the same work on both "
      "sides). On one machine the actors only add the cost of sending each shard's part out and back every iteration "
      "(the samplers' rows of the counts; NMF's H out and XᵀW back; k-means's centroids and sums). The samplers' gain "
      "would be on a cluster, where they sample on other machines' cores; NMF's and LSA's actors only move where the "
      "documents' side is held (their work is small beside what travels).", "",
      "| model | sweeps / iterations | stage in process (s) | on actors (s) | actors ÷ in process | "
      "more per iteration (ms) | whole run in process / on Ray (s) | the model's tables |",
      "|---|---:|---:|---:|---:|---:|---|---|"]
for row in rows:
    same = "all identical" if not row["differ"] else f"differ: {', '.join(row['differ'])}"
    md.append(f"| {row.get('what', WHAT[row['model']])} | {row['sweeps']} | {row['in_process_stage']:.1f} | {row['ray_stage']:.1f} | "
              f"{row['ray_stage'] / row['in_process_stage']:.2f}× | {row['extra_ms_per_sweep']:.0f} | "
              f"{row['in_process_wall']:.1f} / {row['ray_wall']:.1f} | {same} |")
replace_section(args.out, "Models on Ray actors", "\n".join(md) + "\n")
args.out.with_name("BENCHMARKS-ray-models.json").write_text(json.dumps(rows, indent=1))
print("\n".join(md))
