"""The Python pipeline researchers run today, stage by stage, on the same input as themeshift:
ingest (json), segmentation (jieba with our dictionaries, stopwords and filters, on the texts
themeshift normalized), TF-IDF (scikit-learn on themeshift's tokens, so the weights can be compared),
k-means (scikit-learn KMeans on the TF-IDF matrix), topics (scikit-learn NMF, gensim LdaMulticore,
tomotopy LDA, k = 20), coherence (gensim CoherenceModel c_npmi of every model), term trends per
year (polars). Prints one JSON object: seconds, CPU seconds and peak RSS per stage, the TF-IDF
agreement with themeshift's matrix and each topic model's coherence.

usage: python_pipeline.py CORPUS.jsonl THEMESHIFT_RUN_DIR [--no-topics] [--lda-iterations N]
"""
import json
import pathlib
import resource
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests/peers"))
run_dir = sys.argv[2]
with_topics = "--no-topics" not in sys.argv
lda_iterations = int(sys.argv[sys.argv.index("--lda-iterations") + 1]) if "--lda-iterations" in sys.argv else 300
K = 20
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


def kmeans():
    from sklearn.cluster import KMeans
    return KMeans(K, random_state=0).fit(theirs)


stage("cluster", kmeans)
models = {}
quality = {}
if with_topics:
    terms = vectorizer.get_feature_names_out().tolist()

    def nmf():
        from sklearn.decomposition import NMF
        model = NMF(K, random_state=0, max_iter=200).fit(theirs)
        return [[terms[j] for j in np.argsort(-row)[:10]] for row in model.components_]

    models["scikit-learn NMF"] = stage("nmf", nmf)

    def lda_gensim():
        from gensim.corpora import Dictionary
        from gensim.models import LdaMulticore
        dictionary = Dictionary(analysed_tokens)
        dictionary.filter_tokens(bad_ids=[i for t, i in dictionary.token2id.items() if t not in vectorizer.vocabulary_])
        corpus = [dictionary.doc2bow(d) for d in analysed_tokens]
        model = LdaMulticore(corpus, num_topics=K, id2word=dictionary, passes=10, workers=1, random_state=0)
        return [[w for w, _ in model.show_topic(t, 10)] for t in range(K)]

    models["gensim LdaMulticore"] = stage("lda_gensim", lda_gensim)

    def lda_tomotopy():
        import tomotopy as tp
        model = tp.LDAModel(k=K, alpha=0.1, eta=0.01, seed=0)
        n_tokens = 0
        for d in analysed_tokens:
            words = [w for w in d if w in vectorizer.vocabulary_]
            if words:
                model.add_doc(words)
                n_tokens += len(words)
        start = time.perf_counter()
        model.train(lda_iterations, workers=2)
        quality["tomotopy_token_iterations_per_second"] = n_tokens * lda_iterations / (time.perf_counter() - start)
        return [[w for w, _ in model.get_topic_words(t, 10)] for t in range(K)]

    models["tomotopy LDA"] = stage("lda_tomotopy", lda_tomotopy)
    ours_topics = pl.read_parquet(f"{run_dir}/topics.parquet").filter((pl.col("k") == K) & (pl.col("rank") <= 10))
    for name in ["nmf", "lda"]:
        rows = ours_topics.filter(pl.col("model") == name)
        if rows.height:
            models[f"themeshift {name.upper()}"] = [g.sort("rank")["term"].to_list() for _, g in rows.group_by("topic", maintain_order=True)]

    def coherence():
        from gensim.corpora import Dictionary
        from gensim.models.coherencemodel import CoherenceModel
        names = list(models)
        lists = [t for n in names for t in models[n]]
        cm = CoherenceModel(topics=lists, texts=analysed_tokens, dictionary=Dictionary(analysed_tokens), coherence="c_npmi", processes=1, topn=10)
        scores = cm.get_coherence_per_topic()
        for i, n in enumerate(names):
            quality[f"c_npmi {n}"] = float(np.mean(scores[i * K:(i + 1) * K]))

    stage("coherence", coherence)


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
    "quality": quality,
}))
