"""The Python pipeline researchers run today, stage by stage, on the same input as themeshift:
ingest (json), segmentation (jieba with our dictionaries, stopwords and filters, on the texts
themeshift normalized), TF-IDF (scikit-learn on themeshift's tokens, so the weights can be compared),
term trends per year (polars). Prints one JSON object: seconds, CPU seconds and peak RSS per stage,
and the TF-IDF agreement with themeshift's matrix.

usage: python_pipeline.py CORPUS.jsonl THEMESHIFT_RUN_DIR
"""
import json
import pathlib
import resource
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests/peers"))
run_dir = sys.argv[2]
stages = []


def stage(name, work):
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    stages.append({
        "stage": name,
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })
    return out


def imports():
    global jieba, np, pl, sp, TfidfVectorizer
    import jieba
    import numpy as np
    import polars as pl
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    jieba.setLogLevel(60)


stage("python imports", imports)
records = stage("ingest", lambda: [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")])


ours = pl.read_parquet(f"{run_dir}/tokens.parquet")


def segment():
    from themeshift_jieba import setup, tokens
    keep = setup()
    return [tokens(text, keep) for text in ours["text"]]


segmented = stage("segment", segment)
docs = pl.read_parquet(f"{run_dir}/documents.parquet").with_row_index("row")
analysed = docs.filter(pl.col("duplicate_of").is_null())
tokens_by_id = dict(zip(ours["doc_id"], ours["tokens"].to_list()))
analysed_tokens = [tokens_by_id[i] for i in analysed["doc_id"]]


def tfidf():
    v = TfidfVectorizer(analyzer=lambda d: d, min_df=2, max_df=1.0)
    return v, v.fit_transform(analysed_tokens).tocsr()


vectorizer, theirs = stage("vectorize", tfidf)


def trends():
    years = [str(d)[:4] for d in analysed["date"]]
    frame = pl.DataFrame({"year": years, "tokens": analysed_tokens}).explode("tokens")
    counts = frame.group_by(["tokens", "year"]).len()
    totals = frame.group_by("year").len().rename({"len": "n_tokens"})
    return counts.join(totals, on="year").with_columns((pl.col("len") / pl.col("n_tokens") * 1e4).alias("per_10k"))


stage("trends", trends)

coo = pl.read_parquet(f"{run_dir}/tfidf.parquet")
row_of = {r: i for i, r in enumerate(analysed["row"].to_list())}
mine = sp.csr_matrix((coo["weight"].to_numpy().astype(np.float64), ([row_of[r] for r in coo["doc_index"].to_list()], coo["term_id"].to_numpy())), shape=theirs.shape)
same_vocab = vectorizer.get_feature_names_out().tolist() == pl.read_parquet(f"{run_dir}/vocabulary.parquet")["term"].to_list()
segments_equal = sum(a == b for a, b in zip(segmented, ours["tokens"].to_list())) / max(len(segmented), 1)
print(json.dumps({
    "stages": stages,
    "tfidf_same_vocabulary": same_vocab,
    "tfidf_max_abs_diff": float(abs(mine - theirs).max()) if same_vocab else None,
    "segmentation_identical_documents": segments_equal,
}))
