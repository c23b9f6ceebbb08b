"""LDA at several k, ours against topica and tomotopy, in one invocation on the same tokens; writes
the "LDA sweep: full corpus" (or "…: China–Russia subset") section of BENCHMARKS.md and
BENCHMARKS-lda-CORPUS.json (the rest of the file is left as it is).

usage: lda_sweep.py BINARY SHARED_DIR [--corpus full|russia] [--k 20,50,100,200] [--iterations 300] [--seeds 3]

Every model sees the same documents and vocabulary: themeshift's run with --keep-tokens, its
vocabulary filter applied to the token lists the peers get. Threads: 2 on every side. Each side
keeps its own defaults for the prior (PRIORS below), as a researcher runs them. Speed is token-iterations per second of the
fit alone (corpus set-up excluded on every side); quality is gensim's c_npmi of the top 10 words.

Every side fits every k with seeds 0 … N−1 and the table reports means (c_npmi also its range): one
fit's c_npmi moves by ±0.01 with the seed at k = 20 on the full corpus (ours 0.109 to 0.127 over
four seeds), more than the differences between the samplers. The fits are kept in
BENCHMARKS-lda-CORPUS.json by (side, k, seed), so a sweep too long for one sitting can be run a few
k at a time: a new fit replaces the same one, and the section is made from every fit the file holds
for the same corpus and number of sweeps. (Within a row the three sides of a seed were always
measured in one invocation.) Each fit is stored with the defaults it was made with (DEFAULTS below); when
a side's defaults change, change its entry there, and its older fits are dropped on the next run rather
than averaged into the new ones.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import polars as pl

from sections import SWEEP_SECTIONS, replace_section
from xwlb_corpus import write_corpus

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("shared")
ap.add_argument("--corpus", choices=["russia", "full"], default="full")
ap.add_argument("--k", default="20,50,100,200")
ap.add_argument("--iterations", type=int, default=300)
ap.add_argument("--seeds", type=int, default=3, help="fits per side and k, seeds 0 … N−1")
ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parents[2] / "BENCHMARKS.md"))
args = ap.parse_args()
ks = [int(k) for k in args.k.split(",")]
#: Each side's prior as the sweep runs it (its own defaults); said once here and in the section.
PRIORS = ("ours: α = 20/k (at most 1) and β = 0.01 fixed, 10 sweeps as one shard first when α < 1; tomotopy: α = 0.1, η = 0.01, α re-estimated every 10 sweeps; "
          "topica: α = 1 per topic (alpha_sum = k), β = 0.01, both re-estimated every 50 sweeps after 200")
work = pathlib.Path(tempfile.mkdtemp(prefix="themeshift-lda-"))
xwlb = pathlib.Path(args.shared) / "corpus/xwlb"


def log(message):
    print(message, file=sys.stderr, flush=True)


corpus = write_corpus(xwlb, work / f"{args.corpus}.jsonl", args.corpus)
run_dir = work / "run"
subprocess.run([args.binary, "run", "--input", corpus, "--out", run_dir, "--topics", "none", "--clusters", "0",
                "--charts", "none", "--keep-tokens", "--quiet"], check=True)
tokens = pl.read_parquet(run_dir / "tokens.parquet")
documents = pl.read_parquet(run_dir / "documents.parquet").filter(pl.col("duplicate_of").is_null())
vocabulary = set(pl.read_parquet(run_dir / "vocabulary.parquet")["term"].to_list())
by_id = dict(zip(tokens["doc_id"], tokens["tokens"].to_list()))
texts = [by_id[i] for i in documents["doc_id"]]
bags = [[w for w in d if w in vocabulary] for d in texts]
bags = [b for b in bags if b]
n_tokens = sum(map(len, bags))
log(f"{len(bags)} documents, {n_tokens} tokens, {len(vocabulary)} terms")


def ours(k, seed):
    out = work / f"ours{k}-{seed}"
    subprocess.run([args.binary, "topics", run_dir, "--out", out, "--topics", "lda", "--k", str(k), "--threads", "2",
                    "--lda-iterations", str(args.iterations), "--seed", str(seed)], check=True, capture_output=True)
    model = json.load(open(out / "topics_manifest.json"))["models"]["topics"][0]
    rows = pl.read_parquet(out / "topics.parquet").filter(pl.col("rank") <= 10).sort("topic", "rank")
    lists = [g["term"].to_list() for _, g in rows.group_by("topic", maintain_order=True)]
    return model["seconds"], lists


def topica_lda(k, seed):
    import topica
    model = topica.LDA(k, seed=seed, num_threads=2)
    start = time.perf_counter()
    model.fit(bags, iters=args.iterations, keep_theta_draws=False, num_threads=2)
    seconds = time.perf_counter() - start
    phi, words = np.asarray(model.topic_word), list(model.vocabulary)
    return seconds, [[words[j] for j in np.argsort(-row)[:10]] for row in phi]


def tomotopy_lda(k, seed):
    import tomotopy as tp
    model = tp.LDAModel(k=k, alpha=0.1, eta=0.01, seed=seed)
    for b in bags:
        model.add_doc(b)
    start = time.perf_counter()
    model.train(args.iterations, workers=2)
    seconds = time.perf_counter() - start
    return seconds, [[w for w, _ in model.get_topic_words(t, 10)] for t in range(k)]


SIDES = [("themeshift", ours), ("topica", topica_lda), ("tomotopy", tomotopy_lda)]
#: What each side's fits were made with; a kept fit made with other defaults no longer describes its side and is
#: dropped. Fits from before this tag existed were made with LEGACY (only ours have changed since).
DEFAULTS = {"themeshift": "α = 20/k at most 1, 10 sweeps as one shard first when α < 1", "topica": "topica 0.62 defaults",
            "tomotopy": "α = 0.1, η = 0.01, optimised every 10"}
LEGACY = {**DEFAULTS, "themeshift": "α = 0.1, no warm-up"}
fits = {}
for k in ks:
    for seed in range(args.seeds):
        for name, fit in SIDES:
            seconds, lists = fit(k, seed)
            fits[(name, k, seed)] = {"seconds": seconds, "lists": lists}
            log(f"k = {k:3d} seed {seed} {name:<10} {seconds:7.1f} s  "
                f"{n_tokens * args.iterations / seconds / 1e6:5.1f} M token-iterations/s")

from gensim.corpora import Dictionary  # noqa: E402
from gensim.models.coherencemodel import CoherenceModel  # noqa: E402

keys = list(fits)
lists = [t for key in keys for t in fits[key]["lists"]]
scores = iter(CoherenceModel(topics=lists, texts=texts, dictionary=Dictionary(texts), coherence="c_npmi",
                             processes=1, topn=10).get_coherence_per_topic())
for key in keys:
    fits[key]["c_npmi"] = float(np.mean([next(scores) for _ in fits[key]["lists"]]))


json_path = pathlib.Path(args.out).with_name(f"BENCHMARKS-lda-{args.corpus}.json")
kept = json.loads(json_path.read_text()) if json_path.exists() else {}
if kept.get("tokens") != n_tokens or kept.get("iterations") != args.iterations:
    kept = {"fits": []}
current = [f for f in kept["fits"] if f.get("defaults", LEGACY[f["side"]]) == DEFAULTS[f["side"]]]
if len(current) < len(kept["fits"]):
    log(f"dropped {len(kept['fits']) - len(current)} kept fits made with other defaults")
every = {(f["side"], f["k"], f["seed"]): {**f, "defaults": DEFAULTS[f["side"]]} for f in current}
every.update({(s, k, seed): {"side": s, "k": k, "seed": seed, "seconds": f["seconds"], "c_npmi": f["c_npmi"],
                             "defaults": DEFAULTS[s]} for (s, k, seed), f in fits.items()})
json_path.write_text(json.dumps({"corpus": args.corpus, "tokens": n_tokens, "iterations": args.iterations,
                                 "fits": sorted(every.values(), key=lambda f: (f["k"], f["side"], f["seed"]))},
                                indent=1))


def summary(name, k):
    runs = [f for (s, kk, _), f in every.items() if (s, kk) == (name, k)]
    if not runs:
        return None
    npmi = [r["c_npmi"] for r in runs]
    seconds = float(np.mean([r["seconds"] for r in runs]))
    return {"seconds": seconds, "rate": n_tokens * args.iterations / seconds, "npmi": float(np.mean(npmi)),
            "low": min(npmi), "high": max(npmi), "fits": len(runs)}


title = SWEEP_SECTIONS[args.corpus]
md = [f"## {title}", "",
      f"Generated by `benches/peers/lda_sweep.py --corpus {args.corpus}` (this time `--k {args.k} --seeds "
      f"{args.seeds}`; fits of earlier invocations kept in BENCHMARKS-lda-{args.corpus}.json): {len(bags)} documents, "
      f"{n_tokens / 1e6:.2f} M tokens, {len(vocabulary)} terms; {args.iterations} sweeps, 2 threads on every side, fit "
      "time only; means over each side's fits (the three sides of one seed measured in one invocation). Each side "
      f"keeps its own prior defaults ({PRIORS}); kept fits made with a side's earlier defaults are dropped (— where "
      "a side has none at that k). c_npmi: gensim, top 10 words, mean over fits (lowest–highest).", "",
      "| k | fits: ours / topica / tomotopy | themeshift (s) | topica (s) | tomotopy (s) | M token-iterations/s: ours / "
      "topica / tomotopy | ours ÷ topica | ours ÷ tomotopy | c_npmi ours | c_npmi topica | c_npmi tomotopy |",
      "|---:|---|---:|---:|---:|---|---:|---:|---|---|---|"]


def cell(s, text):
    """A side's figure, or — where it has no fit at this k with its current defaults."""
    return text(s) if s else "—"


def ratio(x, y):
    return f"{x['rate'] / y['rate']:.2f}×" if x and y else "—"


npmi = lambda s: f"{s['npmi']:.4f} ({s['low']:.4f}–{s['high']:.4f})"
for k in sorted({kk for (_, kk, _) in every}):
    sides = [summary(name, k) for name, _ in SIDES]
    o, a, b = sides
    counts = " / ".join(str(s["fits"] if s else 0) for s in sides)
    seconds = " | ".join(cell(s, lambda s: f"{s['seconds']:.1f}") for s in sides)
    rates = " / ".join(cell(s, lambda s: f"{s['rate'] / 1e6:.1f}") for s in sides)
    md.append(f"| {k} | {counts} | {seconds} | {rates} | {ratio(o, a)} | {ratio(o, b)} | "
              + " | ".join(cell(s, npmi) for s in sides) + " |")
section = "\n".join(md) + "\n"
replace_section(pathlib.Path(args.out), title, section)
print(section)
