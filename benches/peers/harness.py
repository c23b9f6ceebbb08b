"""Side-by-side benchmark: themeshift and the Python pipeline on the same corpus in one invocation,
then (optionally) themeshift on 1×, 2×, 4×, 8× the corpus. Writes BENCHMARKS.md and BENCHMARKS.json.

usage: harness.py BINARY PYTHON SHARED_DIR --corpus russia|full [--repeat N] [--scaling]
"""
import argparse
import json
import math
import pathlib
import re
import subprocess
import sys
import tempfile

from sections import kept_sections
from xwlb_corpus import write_corpus

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("python")
ap.add_argument("shared")
ap.add_argument("--corpus", choices=["russia", "full"], default="russia")
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--scaling", action="store_true")
ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parents[2] / "BENCHMARKS.md"))
args = ap.parse_args()
here = pathlib.Path(__file__).resolve().parent
work = pathlib.Path(tempfile.mkdtemp(prefix="themeshift-bench-"))
xwlb = pathlib.Path(args.shared) / "corpus/xwlb"


def timed(cmd):
    """Wall, CPU and peak RSS of a command, from GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", *map(str, cmd)], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"failed: {cmd}\n{out.stderr}")
    wall, user, system, rss = re.findall(r"TIME (\S+) (\S+) (\S+) (\S+)", out.stderr)[-1]
    return out.stdout, {"seconds": float(wall), "cpu_seconds": float(user) + float(system), "peak_rss_mib": int(rss) / 1024}


def ours_run(corpus, out, extra=(), threads="2"):
    """A timed run: the process's wall/CPU/RSS and the manifest (stage timings, models)."""
    _, total = timed([args.binary, "run", "--input", corpus, "--out", out, "--threads", threads, "--quiet", *extra])
    manifest = json.load(open(out / "manifest.json"))
    return total, manifest["stages"], manifest["models"]


def ours_alone(command, run_dir, out, *flags):
    """Models re-fitted from a run's tables (`themeshift topics|clusters RUN`) with nothing else
    running: clean model timings. Returns the manifest's models."""
    timed([args.binary, command, run_dir, "--out", out, "--threads", "2", *flags])
    return json.load(open(out / f"{command}_manifest.json"))["models"]


def ours_topics_alone(run_dir, out, method):
    return ours_alone("topics", run_dir, out, "--topics", method, "--k", "20")["topics"][0]


def labelled_nmi():
    """NMI on xwlb stories labelled by title family: ours against scikit-learn KMeans, 3 seeds each."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score as nmi
    import numpy as np
    import polars as pl
    import scipy.sparse as sp
    path = work / "labelled.jsonl"
    subprocess.run([sys.executable, here.parents[1] / "tests/peers/labelled.py", path, xwlb], check=True, capture_output=True)
    family = {json.loads(l)["id"]: json.loads(l)["family"] for l in open(path, encoding="utf-8")}
    k = len(set(family.values()))
    ours, theirs = [], []
    for seed in range(3):
        out = work / f"labelled{seed}"
        subprocess.run([args.binary, "run", "--input", path, "--out", out, "--quiet", "--topics", "none", "--clusters", str(k), "--seed", str(seed)], check=True, capture_output=True)
        docs = pl.read_parquet(out / "documents.parquet")
        analysed = docs.filter(pl.col("cluster").is_not_null())
        ours.append(nmi([family[i] for i in analysed["doc_id"]], analysed["cluster"].to_list()))
        if seed == 0:
            t = pl.read_parquet(out / "tfidf.parquet")
            rows = np.unique(t["doc_index"].to_numpy())
            index = {d: i for i, d in enumerate(rows)}
            x = sp.csr_matrix((t["weight"].to_numpy().astype(np.float64), ([index[d] for d in t["doc_index"].to_numpy()], t["term_id"].to_numpy())))
            truth = [family[i] for i in docs["doc_id"].to_numpy()[rows]]
        theirs.append(nmi(truth, KMeans(k, random_state=seed).fit(x).labels_))
    return sum(ours) / 3, sum(theirs) / 3


corpus = write_corpus(xwlb, work / f"{args.corpus}.jsonl", args.corpus)
size_mb = corpus.stat().st_size / 1e6
rows = []
for rep in range(args.repeat):
    # Without topic models: ingest → segment → TF-IDF → k-means → trends → Parquet + PNG.
    plain_total, plain_stages, _ = ours_run(corpus, work / f"plain{rep}", ["--topics", "none"])
    # Everything: k-means, NMF and LDA (k = 20) and coherence; keeps tokens, which Python reads.
    all_total, all_stages, all_models = ours_run(corpus, work / f"all{rep}", ["--topics", "nmf,lda", "--keep-tokens"])
    clusters_alone = ours_alone("clusters", work / f"plain{rep}", work / f"clusters{rep}", "--clusters", "20")["clusters"]
    nmf_alone = ours_topics_alone(work / f"all{rep}", work / f"nmf{rep}", "nmf")
    lda_alone = ours_topics_alone(work / f"all{rep}", work / f"lda{rep}", "lda")
    stdout, py_total = timed([args.python, here / "python_pipeline.py", corpus, work / f"all{rep}"])
    py = json.loads(stdout.strip().splitlines()[-1])
    rows.append({"plain_total": plain_total, "plain_stages": plain_stages, "all_total": all_total, "all_stages": all_stages,
                 "all_models": all_models, "clusters_alone": clusters_alone, "nmf_alone": nmf_alone, "lda_alone": lda_alone, "python_total": py_total, "python": py})

best = min(rows, key=lambda r: r["plain_total"]["seconds"])
py_best = min(rows, key=lambda r: r["python_total"]["seconds"])
ours_by = {s["stage"]: s["seconds"] for s in best["plain_stages"]}
py_by = {s["stage"]: s["seconds"] for s in py_best["python"]["stages"]}
quality = py_best["python"]["quality"]
comparable = [("ingest", "ingest"), ("segment", "segment"), ("vectorize", "vectorize"), ("trends", "trends")]
nmi_ours, nmi_theirs = labelled_nmi()
# Segmentation on one thread, for the parallel speed-up of jieba-rs on two.
_, one_thread, _ = ours_run(corpus, work / "threads1", ["--topics", "none", "--clusters", "0"], threads="1")
segment_1 = {s["stage"]: s["seconds"] for s in one_thread}["segment"]

scaling = []
if args.scaling:
    lines = [json.loads(l) for l in open(work / f"{args.corpus}.jsonl", encoding="utf-8")]
    for factor in [1, 2, 4, 8]:
        path = work / f"x{factor}.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for copy in range(factor):
                for r in lines:
                    out.write(json.dumps({**r, "id": f"{r['id']}~{copy}"}, ensure_ascii=False) + "\n")
        total, _, _ = ours_run(path, work / f"scale{factor}", ["--keep-duplicates", "--topics", "none"])
        scaling.append({"factor": factor, "megabytes": path.stat().st_size / 1e6, **total})
        path.unlink()

py_sum = lambda names: sum(py_by.get(n, 0.0) for n in names)
py_plain = py_sum(["python imports", "ingest", "segment", "vectorize", "cluster", "trends"])
lda = best["lda_alone"]
tomotopy_rate = quality.get("tomotopy_token_iterations_per_second", float("nan"))
md = [
    "# Benchmarks",
    "",
    f"Generated by `benches/peers/run --corpus {args.corpus}{' --scaling' if args.scaling else ''}` — both sides in the same invocation, "
    f"{args.repeat} repetition(s), best wall time kept; 2 threads for themeshift, Python as researchers run it (one process; "
    "tomotopy with 2 workers, LdaMulticore with 1 worker as on a 2-core machine).",
    f"Corpus: xwlb {args.corpus} ({len(open(corpus, encoding='utf-8').readlines())} stories, {size_mb:.1f} MB of JSONL).",
    "",
    "| stage | themeshift (s) | Python (s) | ratio | quality / note |",
    "|---|---:|---:|---:|---|",
]
notes = {
    "ingest": "json.loads per line vs ingest + decoding + dates",
    "segment": f"jieba (same dictionaries, filters) vs jieba-rs; identical token lists for {py_best['python']['segmentation_identical_documents']:.2%} of documents",
    "vectorize": f"scikit-learn TfidfVectorizer on our tokens; same vocabulary: {py_best['python']['tfidf_same_vocabulary']}, max |Δweight| {py_best['python']['tfidf_max_abs_diff']:.1e}" if py_best['python']['tfidf_same_vocabulary'] else "vocabularies differ",
    "trends": "polars group-by counts per term and year vs our counts, rates, intervals, tests, keyness, themes, evidence",
}
for ours_name, py_name in comparable:
    o, p = ours_by.get(ours_name, float("nan")), py_by.get(py_name, float("nan"))
    md.append(f"| {ours_name} | {o:.2f} | {p:.2f} | {p / o:.1f}× | {notes[ours_name]} |")
cl = best["clusters_alone"]["seconds"]
md.append(f"| cluster: LSA (50 dims) + k-means (alone, `themeshift clusters`) vs KMeans on TF-IDF, k = 20 | {cl:.2f} | {py_by.get('cluster', 0):.2f} | {py_by.get('cluster', 0) / cl:.1f}× | "
          f"{ours_by.get('cluster', float('nan')):.2f} s inside the run, alongside trends; NMI on the labelled check (12 title families, 3 seeds): ours {nmi_ours:.3f}, scikit-learn {nmi_theirs:.3f} |")
nmf = best["nmf_alone"]
md.append(f"| NMF k = 20 (alone, `themeshift topics`) vs scikit-learn NMF | {nmf['seconds']:.2f} | {py_by.get('nmf', 0):.2f} | {py_by.get('nmf', 0) / nmf['seconds']:.1f}× | "
          f"c_npmi ours {quality.get('c_npmi themeshift NMF', float('nan')):.4f}, scikit-learn {quality.get('c_npmi scikit-learn NMF', float('nan')):.4f} (gensim scores both); {nmf['iterations']} iterations |")
md.append(f"| LDA k = 20, 300 sweeps (alone) vs tomotopy, 300 iterations | {lda['seconds']:.2f} | {py_by.get('lda_tomotopy', 0):.2f} | {py_by.get('lda_tomotopy', 0) / lda['seconds']:.1f}× | "
          f"token-iterations/s: ours {lda.get('token_iterations_per_second', float('nan')) / 1e6:.1f} M, tomotopy {tomotopy_rate / 1e6:.1f} M (incl. corpus setup on its side); "
          f"c_npmi ours {quality.get('c_npmi themeshift LDA', float('nan')):.4f}, tomotopy {quality.get('c_npmi tomotopy LDA', float('nan')):.4f} |")
md.append(f"| LDA vs gensim LdaMulticore (10 passes) | {lda['seconds']:.2f} | {py_by.get('lda_gensim', 0):.2f} | {py_by.get('lda_gensim', 0) / lda['seconds']:.1f}× | "
          f"c_npmi gensim {quality.get('c_npmi gensim LdaMulticore', float('nan')):.4f} |")
coh = sum(m.get("coherence_seconds", 0.0) for m in best["all_models"]["topics"])
md.append(f"| coherence (c_npmi, c_v, u_mass of 2 models) vs gensim c_npmi of 5 models | {coh:.2f} | {py_by.get('coherence', 0):.2f} | — | our values equal gensim's to 1e-15 (tests/peers/check_models.py) |")
md += [
    f"| normalize (ours only: OpenCC, boilerplate, duplicates) | {ours_by.get('normalize', 0):.2f} | — | — | the Python side has no equivalent step |",
    f"| write (ours only: Parquet tables, charts, reports) | {ours_by.get('write', 0):.2f} | — | — | |",
    f"| **end to end, no topic models** (ingest → segment → TF-IDF → k-means → trends → Parquet + PNG) | **{best['plain_total']['seconds']:.2f}** | **{py_plain:.2f}** | **{py_plain / best['plain_total']['seconds']:.1f}×** | Python: sum of its stages incl. imports, no plots |",
    f"| **whole run with NMF + LDA + coherence** | **{best['all_total']['seconds']:.2f}** | **{py_best['python_total']['seconds']:.2f}** | **{py_best['python_total']['seconds'] / best['all_total']['seconds']:.1f}×** | wall time of each whole process (Python also fits gensim LDA) |",
    "",
    f"Segmentation: {segment_1:.2f} s on one thread, {ours_by.get('segment', 0):.2f} s on two — "
    f"{ours_by.get('segment', 0) / (segment_1 / 2):.2f}× the ideal half (target ≤ 1.3×).",
    "",
    f"CPU time (whole run): themeshift {best['all_total']['cpu_seconds']:.1f} s, Python {py_best['python_total']['cpu_seconds']:.1f} s. "
    f"Peak RSS: themeshift {best['plain_total']['peak_rss_mib']:.0f} MiB without topics, {best['all_total']['peak_rss_mib']:.0f} MiB with them; "
    f"Python {py_best['python_total']['peak_rss_mib']:.0f} MiB.",
    "",
    "The Python side reads themeshift's normalized texts and tokens (`--keep-tokens`), so both sides segment and vectorize "
    "the same input and every model sees the same matrix and vocabulary; its times cover imports, ingest, jieba, scikit-learn, "
    "gensim, tomotopy and polars, but none of the normalization, tests, themes, evidence, Parquet or charts themeshift adds. "
    "Coherence figures are gensim's `CoherenceModel(coherence='c_npmi')` over the analysed documents' tokens, for every model.",
]
if scaling:
    base = scaling[0]
    md += ["", "## Scaling (themeshift without topic models, `--keep-duplicates`, the corpus replicated with new ids)", "",
           "| size | MB | wall (s) | CPU (s) | peak RSS (MiB) |", "|---:|---:|---:|---:|---:|"]
    for s in scaling:
        md.append(f"| {s['factor']}× | {s['megabytes']:.0f} | {s['seconds']:.2f} | {s['cpu_seconds']:.1f} | {s['peak_rss_mib']:.0f} |")
    last = scaling[-1]
    exponent = math.log(last["seconds"] / base["seconds"]) / math.log(last["factor"])
    mem_exponent = math.log(last["peak_rss_mib"] / base["peak_rss_mib"]) / math.log(last["factor"])
    md += ["", f"Growth exponent from 1× to {last['factor']}×: time {exponent:.2f}, peak memory {mem_exponent:.2f} (1.0 = linear)."]
# The side studies (LDA sweep, NMF over seeds, sharded runs) have their own sections, which a regeneration keeps.
previous = pathlib.Path(args.out).read_text(encoding="utf-8") if pathlib.Path(args.out).exists() else ""
pathlib.Path(args.out).write_text("\n".join(md) + "\n" + kept_sections(previous), encoding="utf-8")
pathlib.Path(args.out).with_suffix(".json").write_text(json.dumps({"corpus": args.corpus, "runs": rows, "scaling": scaling}, indent=1))
print("\n".join(md))
