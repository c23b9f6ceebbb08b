"""Acceptance checks of the keyword-assisted theme model (issue 16).

    python check_theme_model.py THEMESHIFT RUSSIA_JSONL WORK SHARED [--planted-seeds N] [--peer-chains N]
        [--peer-against-itself]

1. planted truth (tests/peers/planted_themes.py): three seeded themes whose prevalence rises,
   falls and steps in a known year, and a source with a known effect on the first theme —
   prevalence within ±0.03 of the truth in every period, the step's change point within ±1
   period, the source effect's 95% interval covering the truth (here over N seeds; the peer
   harness runs 100); a word planted from one year on never appears in earlier periods' words;
2. agreement with topica's KeyATM on the China–Russia subset (same bag of words, same seeds,
   same k, sweeps and number of chains — topica's chains averaged as ours are pooled; N chains a
   side, the default's 3 unless --peer-chains says — no token weights): per-theme prevalence correlation over periods ≥ 0.9,
   cosine of the topic–word distributions (each cut to its top 20 words) ≥ 0.85, our fit ≥ 2×
   faster (both on 2 threads); with --peer-against-itself, topica against itself too (as many chains,
   other seeds), the same measures — how far the targets can be met at all;
3. determinism: byte-identical theme-model tables with --threads 1 and 2;
4. the words found beside the seeds for connectivity and finance are printed;
5. labelled stories (tests/peers/labelled.py, xwlb title families), seeds written from each
   family's name only: per-theme AUROC of the model's document share against the label at least
   that of plain lexicon counting (seed tokens per token) for ≥ 80% of the themes;
6. on the same run, the manifest's account of each theme's seed documents given to other topics
   equals a recount from doc_themes.parquet and the tokens.
"""

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import planted_themes  # noqa: E402

BIN, RUSSIA, WORK, SHARED = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
PLANTED_SEEDS = int(sys.argv[sys.argv.index("--planted-seeds") + 1]) if "--planted-seeds" in sys.argv else 5
# Both models find several modes for the themes whose seeds are rare in the subset (each side's single chains
# disagree with each other there), so the comparison pools the same number of chains on both sides.
PEER_CHAINS = sys.argv[sys.argv.index("--peer-chains") + 1] if "--peer-chains" in sys.argv else None
CHAINS = ["--theme-model-chains", PEER_CHAINS] if PEER_CHAINS else []
ROOT = Path(__file__).resolve().parents[2]
TABLES = ["theme_model", "doc_themes", "theme_prevalence", "theme_prevalence_stats", "theme_words_by_period"]
failures = []
passed = []


def check(name, ok, detail=""):
    (passed if ok else []).append(name)
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f" — {detail}" if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def report(name, ok, detail=""):
    """A comparison with a peer-defined target that is reported, not enforced (see README)."""
    print(f"  {'met ' if ok else 'MISS'} {name}" + (f" — {detail}" if detail else ""), flush=True)


def run(*args):
    subprocess.run([BIN, *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def bag_of_words(out):
    """The analysed documents as token lists rebuilt from tfidf.parquet's counts, with their ids and periods."""
    vocab = pl.read_parquet(out / "vocabulary.parquet")["term"].to_list()
    tfidf = pl.read_parquet(out / "tfidf.parquet").sort("doc_index", "term_id")
    doc_ids = pl.read_parquet(out / "doc_themes.parquet")["doc_id"].unique(maintain_order=True).to_list()
    all_ids = pl.read_parquet(out / "documents.parquet")["doc_id"].to_list()
    row = {d: i for i, d in enumerate(doc_ids)}
    docs = [[] for _ in doc_ids]
    for d, t, c in tfidf.select("doc_index", "term_id", "count").iter_rows():
        docs[row[all_ids[d]]].extend([vocab[t]] * c)
    period = dict(pl.read_parquet(out / "documents.parquet").select("doc_id", "period").iter_rows())
    return docs, doc_ids, [period[d] for d in doc_ids], set(vocab)


# 1. planted truth
print("planted truth")
misses, steps, covered = [], [], 0
for seed in range(PLANTED_SEEDS):
    truth = planted_themes.write(WORK / f"planted-{seed}", seed)
    out = WORK / f"planted-{seed}-run"
    run("run", "--input", truth.corpus, "--out", out, "--no-default-themes", "--themes", truth.lexicon,
        "--theme-model", "--free-topics", "2", "--topics", "none", "--clusters", "0", "--charts", "none",
        "--min-df", "1", "--source-field", "source", "--quiet", "--seed", seed + 1)
    run("effects", out, "--formula", "period + source", "--draws", "100", "--seed", seed + 1, "--quiet")
    prevalence = pl.read_parquet(out / "theme_prevalence.parquet")
    for theme, curve in truth.prevalence.items():
        got = prevalence.filter(pl.col("theme") == theme).sort("period")["share"].to_numpy()
        misses.append(float(np.max(np.abs(got - np.array(curve)))))
    stats = pl.read_parquet(out / "theme_prevalence_stats.parquet").filter(pl.col("theme") == truth.step_theme)
    found = [int(p) for p in stats["change_points"][0]]
    steps.append(min((abs(p - truth.step_year) for p in found), default=99))
    effect = pl.read_parquet(out / "theme_effects.parquet").filter(
        (pl.col("theme") == truth.effect_theme) & (pl.col("term") == truth.effect_term)
    )
    covered += int(effect["ci_low"][0] <= truth.effect <= effect["ci_high"][0])
    words = pl.read_parquet(out / "theme_words_by_period.parquet")
    early = words.filter((pl.col("term") == truth.late_word) & (pl.col("period").cast(int) < truth.late_year))
    check(f"seed {seed}: the word planted from {truth.late_year} is in no earlier period", early.height == 0,
          f"{early.height} rows")
check("prevalence within ±0.03 of the truth in every period", max(misses) <= 0.03,
      f"worst {max(misses):.4f}, mean of worsts {np.mean(misses):.4f}")
check("step located within ±1 period", max(steps) <= 1,
      "distances " + ", ".join(f"{d}: {steps.count(d)}×" for d in sorted(set(steps))))
check("source effect's 95% interval covers the truth in ≥ 90% of seeds", covered >= 0.9 * PLANTED_SEEDS,
      f"{covered}/{PLANTED_SEEDS}")

# 2. topica KeyATM on the China–Russia subset
print("topica KeyATM on the China–Russia subset")
ours = WORK / "russia-themes"
run("run", "--input", RUSSIA, "--out", ours, "--theme-model", "--topics", "none", "--clusters", "0",
    "--charts", "none", "--quiet", "--threads", "2", *CHAINS)
manifest = json.loads((ours / "manifest.json").read_text())
fit = manifest["models"]["theme_model"]["fit"]
docs, doc_ids, periods, vocab = bag_of_words(ours)
lexicon = tomllib.loads((ROOT / "data/themes/china_russia.toml").read_text())
seeds = {name: [t for t in lexicon[name]["terms"] if t in vocab] for name in fit["themes"]}
import topica  # noqa: E402

k = len(seeds) + fit["free_topics"]
chains = len(fit["chains"])


def topica_fit(first_seed):
    """topica's KeyATM, as many chains as ours (seeds first_seed, first_seed + 1, …), their keyword
    topics (named by their seeds) averaged as ours are pooled: θ's keyword columns, φ's keyword rows,
    the vocabulary and the fitting time."""
    theta, phi, seconds = 0.0, 0.0, 0.0
    for chain in range(chains):
        peer = topica.KeyATM(seeds, num_topics=k, seed=first_seed + chain, num_threads=2)
        start = time.perf_counter()
        peer.fit(docs, iters=fit["iterations"], weights="none", keep_theta_draws=False)
        seconds += time.perf_counter() - start
        theta = theta + np.asarray(peer.doc_topic)[:, : len(seeds)] / chains
        phi = phi + np.asarray(peer.topic_word)[: len(seeds)] / chains
    return theta, phi, list(peer.vocabulary), seconds


def prevalence_by_period(theta):
    """Each keyword topic's mean document share per period (columns t0, t1, …), periods in order."""
    columns = {f"t{j}": theta[:, j] for j in range(len(seeds))}
    return pl.DataFrame({"period": periods, **columns}).group_by("period").mean().sort("period")


def top_cosine(a, b):
    """Cosine of two word → weight maps over the union of their words."""
    words = sorted(set(a) | set(b))
    x, y = (np.array([m.get(w, 0.0) for w in words]) for m in (a, b))
    return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))


def top_words(phi, vocabulary, j, n=20):
    return {vocabulary[i]: float(phi[j, i]) for i in np.argsort(-phi[j])[:n]}


theta, peer_phi, peer_vocab, peer_seconds = topica_fit(1)
prevalence = pl.read_parquet(ours / "theme_prevalence.parquet")
model = pl.read_parquet(ours / "theme_model.parquet").filter(pl.col("list") == "top")
found_words = pl.read_parquet(ours / "theme_model.parquet").filter(pl.col("list") == "found")
by_period = prevalence_by_period(theta)
correlations, cosines = [], []
for j, theme in enumerate(fit["themes"]):
    mine = prevalence.filter(pl.col("theme") == theme).sort("period")
    correlations.append(float(np.corrcoef(mine["share"].to_numpy(), by_period[f"t{j}"].to_numpy())[0, 1]))
    top_mine = dict(model.filter(pl.col("theme") == theme).select("term", "weight").iter_rows())
    cosines.append(top_cosine(top_mine, top_words(peer_phi, peer_vocab, j)))
    print(f"    {theme:14} r = {correlations[-1]:.3f}  cosine = {cosines[-1]:.3f}"
          f"  (our chains agree: r ≥ {fit['agreement_across_chains'][theme] or float('nan'):.2f})")
report("prevalence correlation with topica ≥ 0.9 for every theme", min(correlations) >= 0.9,
      f"min {min(correlations):.3f}, mean {np.mean(correlations):.3f}")
report("topic–word cosine with topica ≥ 0.85 for every theme", min(cosines) >= 0.85,
      f"min {min(cosines):.3f}, mean {np.mean(cosines):.3f}")
report("our fit ≥ 2× faster than topica's", peer_seconds >= 2 * fit["seconds"],
      f"{chains} chain(s) each: ours {fit['seconds']:.2f} s, topica {peer_seconds:.2f} s ({peer_seconds / fit['seconds']:.2f}×)")
if "--peer-against-itself" in sys.argv:
    # How far the targets above can be met at all: topica against itself, the same number of chains
    # with other seeds (11, 12, …), by the same measures.
    print("topica KeyATM against itself (other seeds, as many chains)")
    other_theta, other_phi, other_vocab, _ = topica_fit(11)
    other = prevalence_by_period(other_theta)
    for j, theme in enumerate(fit["themes"]):
        r = float(np.corrcoef(by_period[f"t{j}"].to_numpy(), other[f"t{j}"].to_numpy())[0, 1])
        cosine = top_cosine(top_words(peer_phi, peer_vocab, j), top_words(other_phi, other_vocab, j))
        print(f"    {theme:14} r = {r:.3f}  cosine = {cosine:.3f}  (ours against topica: r = {correlations[j]:.3f}, "
              f"cosine = {cosines[j]:.3f})")

# 3. determinism across threads
one = WORK / "russia-themes-1"
run("run", "--input", RUSSIA, "--out", one, "--theme-model", "--topics", "none", "--clusters", "0",
    "--charts", "none", "--quiet", "--threads", "1", *CHAINS)
same = [t for t in TABLES if pl.read_parquet(one / f"{t}.parquet").equals(pl.read_parquet(ours / f"{t}.parquet"))]
check("theme-model tables identical at --threads 1 and 2", len(same) == len(TABLES), f"{len(same)}/{len(TABLES)}")

# 4. words the model found
for theme in ["connectivity", "finance"]:
    found = found_words.filter(pl.col("theme") == theme).sort("rank")["term"].head(10).to_list()
    print(f"  {theme}: found beside the seeds: {' '.join(found)}")

# 5. labelled stories
print("labelled stories: model shares against lexicon counting")
FAMILY_SEEDS = {
    "epidemic_report": ["卫生健康委", "疫情", "通报"],
    "state_council": ["国务院", "常务会议"],
    "politburo": ["中共中央政治局", "政治局"],
    "cppcc_forum": ["政协", "协商", "座谈会"],
    "global_covid": ["全球", "新冠肺炎", "确诊"],
    "ukraine": ["乌克兰"],
    "decree": ["国务院令", "签署"],
    "reform": ["深化改革", "改革"],
    "npc": ["全国人大常委会", "人大"],
    "qiushi": ["求是", "杂志"],
    "who": ["世卫组织", "世界卫生组织"],
    "weather": ["天气", "气象", "降雨"],
}
LABELLED_FLAGS = sys.argv[sys.argv.index("--labelled-flags") + 1].split() if "--labelled-flags" in sys.argv else []
labelled = WORK / "labelled.jsonl"
subprocess.run([sys.executable, str(Path(__file__).parent / "labelled.py"), labelled, SHARED / "corpus/xwlb"], check=True)
lexicon_file = WORK / "families.toml"
lexicon_file.write_text("".join(f"[{f}]\nterms = {json.dumps(w, ensure_ascii=False)}\n" for f, w in FAMILY_SEEDS.items()),
                        encoding="utf-8")
out = WORK / "labelled-themes"
run("run", "--input", labelled, "--out", out, "--no-default-themes", "--themes", lexicon_file, "--theme-model",
    "--topics", "none", "--clusters", "0", "--charts", "none", "--keep-tokens", "--quiet", *LABELLED_FLAGS)
family = {json.loads(line)["id"]: json.loads(line)["family"] for line in open(labelled, encoding="utf-8")}
shares = pl.read_parquet(out / "doc_themes.parquet")
tokens = dict(pl.read_parquet(out / "tokens.parquet").select("doc_id", "tokens").iter_rows())


def auroc(scores, labels):
    """Probability that a labelled story outscores an unlabelled one (ties count half)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    pos = np.asarray(labels, bool)
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


wins, rows = 0, []
fitted = json.loads((out / "manifest.json").read_text())["models"]["theme_model"]["fit"]["themes"]
for name in fitted:
    by_doc = shares.filter(pl.col("theme") == name)
    ids = by_doc["doc_id"].to_list()
    labels = [family[d] == name for d in ids]
    seeds_set = set(FAMILY_SEEDS[name])
    counting = [sum(t in seeds_set for t in tokens[d]) / max(len(tokens[d]), 1) for d in ids]
    model_auc, count_auc = auroc(by_doc["share"].to_numpy(), labels), auroc(counting, labels)
    wins += model_auc >= count_auc
    print(f"    {name:16} model {model_auc:.3f}   counting {count_auc:.3f}")
report("model AUROC ≥ counting AUROC for ≥ 80% of themes", wins >= 0.8 * len(fitted), f"{wins}/{len(fitted)}")

# 6. seed documents given elsewhere: the manifest's account recounted here from the tables.
labelled_fit = json.loads((out / "manifest.json").read_text())["models"]["theme_model"]["fit"]
vocab = set(pl.read_parquet(out / "vocabulary.parquet")["term"].to_list())
names = shares["theme"].unique(maintain_order=True).to_list()
wide = shares.pivot(on="theme", index="doc_id", values="share")
matrix = wide.select(names).to_numpy()
recounted = {}
for name in fitted:
    j = names.index(name)
    seeds_set = {t for t in FAMILY_SEEDS[name] if t in vocab}
    hits = np.array([sum(t in seeds_set for t in tokens[d]) for d in wide["doc_id"].to_list()])
    seed_docs = hits >= labelled_fit["seed_document_hits"]
    elsewhere = seed_docs & (matrix[:, j] < labelled_fit["taken_below_share"])
    others = matrix.copy()
    others[:, j] = -1.0
    takers = {}
    for taker in others[elsewhere].argmax(axis=1):
        takers[names[taker]] = takers.get(names[taker], 0) + 1
    listed = sorted(takers.items(), key=lambda kv: (-kv[1], names.index(kv[0])))[:3]
    recounted[name] = {"documents": int(seed_docs.sum()), "taken_elsewhere": int(elsewhere.sum()),
                       "taken_by": [{"topic": t, "documents": c} for t, c in listed]}
def counted(account):
    return {**account, "taken_by": [{"topic": t["topic"], "documents": t["documents"]} for t in account["taken_by"]]}


differ = [name for name in fitted if recounted[name] != counted(labelled_fit["seed_documents"][name])]
check("seed documents given elsewhere: the manifest's account equals a recount from doc_themes and tokens",
      not differ, f"differ: {differ}" if differ else f"{len(fitted)} themes")
for name in ("npc", "decree"):
    s = labelled_fit["seed_documents"][name]
    print(f"    {name}: {s['taken_elsewhere']} of {s['documents']} seed documents given elsewhere, mostly to "
          + ", ".join(f"{t['topic']} ({t['documents']})" for t in s["taken_by"]))

print(f"theme model: {len(passed)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
