"""What the model checks share: our matrices and topics read from a run's tables, and gensim's coherence."""
import numpy as np
import polars as pl
import scipy.sparse as sp


def matrices(run_dir):
    """Our TF-IDF and count matrices (analysed rows only), vocabulary and row doc ids."""
    t = pl.read_parquet(run_dir / "tfidf.parquet")
    terms = pl.read_parquet(run_dir / "vocabulary.parquet")["term"].to_list()
    docs = pl.read_parquet(run_dir / "documents.parquet")
    rows = np.unique(t["doc_index"].to_numpy())
    index = {d: i for i, d in enumerate(rows)}
    r = np.array([index[d] for d in t["doc_index"].to_numpy()])
    shape = (len(rows), len(terms))
    tfidf = sp.csr_matrix((t["weight"].to_numpy().astype(np.float64), (r, t["term_id"].to_numpy())), shape=shape)
    counts = sp.csr_matrix((t["count"].to_numpy(), (r, t["term_id"].to_numpy())), shape=shape)
    return tfidf, counts, terms, docs["doc_id"].to_numpy()[rows], rows


def our_topics(run_dir, model, k=20):
    t = pl.read_parquet(run_dir / "topics.parquet").filter((pl.col("model") == model) & (pl.col("k") == k) & (pl.col("rank") <= 10))
    return [g.sort("rank")["term"].to_list() for _, g in t.group_by("topic", maintain_order=True)]


def our_coherence(run_dir, model, k=20):
    c = pl.read_parquet(run_dir / "coherence.parquet").filter((pl.col("model") == model) & (pl.col("k") == k))
    return c.filter(pl.col("topic").is_not_null()).sort("topic"), c.filter(pl.col("topic").is_null()).row(0, named=True)


def gensim_coherence(topic_lists, texts, measure):
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel

    dictionary = Dictionary(texts)
    cm = CoherenceModel(topics=topic_lists, texts=texts, dictionary=dictionary, coherence=measure, processes=1, topn=10)
    return cm.get_coherence_per_topic()


def analysed_texts(run_dir):
    """The token lists of the analysed documents (duplicates left out), over which themeshift counts coherence."""
    tokens = pl.read_parquet(run_dir / "tokens.parquet")["tokens"].to_list()
    analysed = pl.read_parquet(run_dir / "documents.parquet")["duplicate_of"].is_null().to_list()
    return [t for t, keep in zip(tokens, analysed) if keep]
