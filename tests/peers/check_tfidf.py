"""scikit-learn agreement: TfidfVectorizer fed our tokens must give our vocabulary and weights.

usage: check_tfidf.py RUN_DIR [--min-df 2] [--max-df 1.0] [--sublinear-tf]
RUN_DIR is a `themeshift run --keep-tokens` output folder.
"""
import argparse
import sys

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

ap = argparse.ArgumentParser()
ap.add_argument("run")
ap.add_argument("--min-df", default="2")
ap.add_argument("--max-df", default="1.0")
ap.add_argument("--sublinear-tf", action="store_true")
args = ap.parse_args()
as_bound = lambda s: float(s) if "." in s else int(s)

# The matrix rows are the analysed documents: all but the later members of duplicate groups
# (unless the run had --keep-duplicates); doc_index is their row in documents.parquet.
docs = pl.read_parquet(f"{args.run}/documents.parquet").with_row_index("row")
tokens_by_id = dict(zip(*pl.read_parquet(f"{args.run}/tokens.parquet").select("doc_id", "tokens").to_dict(as_series=False).values()))
coo_rows = set(pl.read_parquet(f"{args.run}/tfidf.parquet")["doc_index"].unique().to_list())
analysed = docs.filter(pl.col("duplicate_of").is_null() | pl.col("row").is_in(list(coo_rows)))
rows = analysed["row"].to_list()
tokens = [tokens_by_id[i] for i in analysed["doc_id"]]
vocab = pl.read_parquet(f"{args.run}/vocabulary.parquet")
coo = pl.read_parquet(f"{args.run}/tfidf.parquet")

vectorizer = TfidfVectorizer(
    analyzer=lambda doc: doc,
    min_df=as_bound(args.min_df),
    max_df=as_bound(args.max_df),
    sublinear_tf=args.sublinear_tf,
)
theirs = vectorizer.fit_transform(tokens).tocsr()
their_terms = vectorizer.get_feature_names_out().tolist()
our_terms = vocab["term"].to_list()

failures = []
if their_terms != our_terms:
    only_theirs = sorted(set(their_terms) - set(our_terms))[:10]
    only_ours = sorted(set(our_terms) - set(their_terms))[:10]
    failures.append(f"vocabulary differs: {len(their_terms)} vs {len(our_terms)} terms; only sklearn {only_theirs}, only ours {only_ours}")
else:
    row_of = {r: i for i, r in enumerate(rows)}
    ours = sp.csr_matrix(
        (coo["weight"].to_numpy().astype(np.float64), ([row_of[r] for r in coo["doc_index"].to_list()], coo["term_id"].to_numpy())),
        shape=theirs.shape,
    )
    diff = abs(ours - theirs)
    worst = diff.max() if diff.nnz else 0.0
    idf_diff = np.abs(vocab["idf"].to_numpy() - vectorizer.idf_).max()
    print(f"tfidf: {theirs.shape[0]} docs × {theirs.shape[1]} terms, {theirs.nnz} non-zeros (ours {len(coo)}); "
          f"max |weight diff| = {worst:.2e}; max |idf diff| = {idf_diff:.2e}")
    if ours.nnz != theirs.nnz:
        failures.append(f"non-zero count differs: ours {ours.nnz}, sklearn {theirs.nnz}")
    if worst > 1e-6:
        failures.append(f"weights differ by up to {worst}")
    if idf_diff > 1e-9:
        failures.append(f"idf differs by up to {idf_diff}")
for f in failures:
    print("FAIL:", f)
print(f"sklearn-tfidf: {0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
