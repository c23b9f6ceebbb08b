//! Every output table's file name, column names and dtypes, in one place. Table builders go
//! through [`Table::frame`], which refuses a frame that does not match its schema.

use polars::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    Str,
    Date,
    U32,
    U64,
    F32,
    F64,
    Bool,
    ListStr,
}

impl Dtype {
    pub fn polars(self) -> DataType {
        match self {
            Dtype::Str => DataType::String,
            Dtype::Date => DataType::Date,
            Dtype::U32 => DataType::UInt32,
            Dtype::U64 => DataType::UInt64,
            Dtype::F32 => DataType::Float32,
            Dtype::F64 => DataType::Float64,
            Dtype::Bool => DataType::Boolean,
            Dtype::ListStr => DataType::List(Box::new(DataType::String)),
        }
    }
}

pub struct Table {
    pub file: &'static str,
    pub columns: &'static [(&'static str, Dtype)],
}

use Dtype::*;

/// One row per document, analysed or not; the user's extra metadata columns follow these.
pub const DOCUMENTS: Table = Table {
    file: "documents.parquet",
    columns: &[
        ("doc_id", Str),
        ("date", Date),
        ("period", Str),
        ("title", Str),
        ("source", Str),
        ("script", Str),
        ("date_source", Str),
        ("n_chars", U32),
        ("n_tokens", U32),
        ("keywords", ListStr),
        ("boilerplate_chars", U32),
        ("repeated_chars", U32),
        ("duplicate_of", Str),
        // Null for documents not analysed (duplicates) or when clustering / topics are off.
        ("cluster", U32),
        ("top_topic", U32),
    ],
};

/// Each document's normalized text (what was segmented) and its kept tokens.
pub const TOKENS: Table =
    Table { file: "tokens.parquet", columns: &[("doc_id", Str), ("text", Str), ("tokens", ListStr)] };

pub const VOCABULARY: Table = Table {
    file: "vocabulary.parquet",
    columns: &[("term_id", U32), ("term", Str), ("df", U32), ("cf", U64), ("idf", F64)],
};

/// The TF-IDF matrix as coordinates: `scipy.sparse.csr_matrix((weight, (doc_index, term_id)))`.
/// `count` is the raw term count the weight comes from (what LDA and `themeshift topics` read).
pub const TFIDF: Table =
    Table { file: "tfidf.parquet", columns: &[("doc_index", U32), ("term_id", U32), ("count", U32), ("weight", F32)] };

/// Each cluster's top terms by c-TF-IDF; `size` is the cluster's number of documents.
pub const CLUSTERS: Table = Table {
    file: "clusters.parquet",
    columns: &[("cluster", U32), ("rank", U32), ("term", Str), ("weight", F64), ("size", U32)],
};

/// Share of each period's analysed documents in each cluster.
pub const CLUSTER_TRENDS: Table = Table {
    file: "cluster_trends.parquet",
    columns: &[("cluster", U32), ("period", Str), ("share", F64), ("n_docs", U32)],
};

/// Every fitted model (`model` = nmf / lda, `k` topics): each topic's top terms.
pub const TOPICS: Table = Table {
    file: "topics.parquet",
    columns: &[("model", Str), ("k", U32), ("topic", U32), ("rank", U32), ("term", Str), ("weight", F64)],
};

/// Each document's topic shares from the run's floor up (shares of a document sum to 1).
pub const DOC_TOPICS: Table = Table {
    file: "doc_topics.parquet",
    columns: &[("model", Str), ("k", U32), ("doc_id", Str), ("topic", U32), ("weight", F32)],
};

/// Mean topic share of each period's documents; `n_docs`: documents whose largest share it is.
pub const TOPIC_TRENDS: Table = Table {
    file: "topic_trends.parquet",
    columns: &[("model", Str), ("k", U32), ("topic", U32), ("period", Str), ("prevalence", F64), ("n_docs", U32)],
};

/// The documents nearest each cluster's centre (`weight`: cosine similarity in LSA space).
pub const CLUSTER_REPRESENTATIVES: Table = Table {
    file: "cluster_representatives.parquet",
    columns: &[("cluster", U32), ("rank", U32), ("doc_id", Str), ("title", Str), ("weight", F64)],
};

/// The documents that carry each topic most (NMF weight, LDA tokens); `weight` is the
/// document's share of the topic.
pub const TOPIC_REPRESENTATIVES: Table = Table {
    file: "topic_representatives.parquet",
    columns: &[
        ("model", Str),
        ("k", U32),
        ("topic", U32),
        ("rank", U32),
        ("doc_id", Str),
        ("title", Str),
        ("weight", F64),
    ],
};

/// gensim-compatible coherence of each topic; the row with a null topic is the model's mean.
pub const COHERENCE: Table = Table {
    file: "coherence.parquet",
    columns: &[("model", Str), ("k", U32), ("topic", U32), ("c_npmi", F64), ("c_v", F64), ("u_mass", F64)],
};

pub const TERM_TRENDS: Table = Table {
    file: "term_trends.parquet",
    columns: &[
        ("term", Str),
        ("period", Str),
        ("count", U64),
        ("per_10k", F64),
        ("doc_freq", U32),
        ("doc_share", F64),
        // The period's denominators.
        ("n_docs", U32),
        ("n_tokens", U64),
        // 95% bootstrap intervals, for the most frequent terms (null for the others).
        ("per_10k_low", F64),
        ("per_10k_high", F64),
        ("doc_share_low", F64),
        ("doc_share_high", F64),
    ],
};

pub const TERM_TREND_STATS: Table = Table {
    file: "term_trend_stats.parquet",
    columns: &[
        ("term", Str),
        ("n_periods", U32),
        ("sen_slope", F64),
        ("mk_tau", F64),
        ("mk_p", F64),
        ("mk_q", F64),
        ("direction", Str),
        ("peak_period", Str),
        ("first_period", Str),
        ("change_points", ListStr),
    ],
};

/// Each period against all other periods together.
pub const KEYNESS: Table = Table {
    file: "keyness.parquet",
    columns: &[
        ("term", Str),
        ("target", Str),
        ("reference", Str),
        ("g2", F64),
        ("p_value", F64),
        ("q_value", F64),
        ("log_ratio", F64),
        ("count_target", U64),
        ("count_reference", U64),
        // The denominators: tokens (of vocabulary terms) on each side.
        ("total_target", U64),
        ("total_reference", U64),
    ],
};

/// Trend tests of each theme's share series, as for terms.
pub const THEME_STATS: Table = Table {
    file: "theme_stats.parquet",
    columns: &[
        ("theme", Str),
        ("label", Str),
        ("sen_slope", F64),
        ("mk_tau", F64),
        ("mk_p", F64),
        ("direction", Str),
        ("peak_period", Str),
        ("change_points", ListStr),
    ],
};

pub const THEMES: Table = Table {
    file: "themes.parquet",
    columns: &[
        ("theme", Str),
        ("label", Str),
        ("period", Str),
        ("hits", F64),
        ("n_docs", U32),
        ("n_tokens", U64),
        ("share", F64),
        ("share_low", F64),
        ("share_high", F64),
        ("per_10k", F64),
        ("per_10k_low", F64),
        ("per_10k_high", F64),
        ("doc_share", F64),
        ("doc_share_low", F64),
        ("doc_share_high", F64),
    ],
};

/// The sentences behind emerging terms and theme-periods; `start`/`end` are character offsets of
/// `term` in `sentence`.
pub const EVIDENCE: Table = Table {
    file: "evidence.parquet",
    columns: &[
        ("kind", Str),
        ("key", Str),
        ("period", Str),
        ("rank", U32),
        ("doc_id", Str),
        ("date", Date),
        ("sentence", Str),
        ("term", Str),
        ("start", U32),
        ("end", U32),
    ],
};

/// The denominators of every rate: documents and tokens per period; `underpowered` marks periods
/// with fewer documents than the run's minimum (their rates are shown, not smoothed, not trusted).
pub const PERIODS: Table = Table {
    file: "periods.parquet",
    columns: &[("period", Str), ("n_docs", U32), ("n_tokens", U64), ("underpowered", Bool)],
};

impl Table {
    /// A frame of `columns`, named and checked against this schema.
    pub fn frame(&self, columns: Vec<Series>) -> PolarsResult<DataFrame> {
        polars_ensure!(
            columns.len() == self.columns.len(),
            ShapeMismatch: "{}: {} columns given, schema has {}", self.file, columns.len(), self.columns.len()
        );
        let named: Vec<Column> = columns
            .into_iter()
            .zip(self.columns)
            .map(|(series, (name, dtype))| {
                polars_ensure!(
                    series.dtype() == &dtype.polars(),
                    SchemaMismatch: "{}.{name}: dtype {} where the schema says {}", self.file, series.dtype(), dtype.polars()
                );
                Ok(series.with_name((*name).into()).into_column())
            })
            .collect::<PolarsResult<_>>()?;
        DataFrame::new_infer_height(named)
    }
}

/// The keyword-assisted theme model's topics: keyword themes (lexicon order), then `free_N`
/// topics. `list` "top": each topic's words by weight (φ), `seed` marking the lexicon's seeds;
/// "found": each keyword theme's non-seed words by relevance (null for "top" rows).
pub const THEME_MODEL: Table = Table {
    file: "theme_model.parquet",
    columns: &[
        ("theme", Str),
        ("label", Str),
        ("keyword_topic", Bool),
        ("list", Str),
        ("rank", U32),
        ("term", Str),
        ("weight", F64),
        ("relevance", F64),
        ("seed", Bool),
    ],
};

/// Each analysed document's share of every theme-model topic (mean over the posterior draws) and
/// the tokens assigned to it (mean), from which `themeshift effects` draws θ ~ Dirichlet(tokens + α).
pub const DOC_THEMES: Table = Table {
    file: "doc_themes.parquet",
    columns: &[("doc_id", Str), ("theme", Str), ("share", F32), ("tokens", F32), ("alpha", F64)],
};

/// Mean document share of each theme-model topic per period, with a 95% credible interval over
/// the posterior draws.
pub const THEME_PREVALENCE: Table = Table {
    file: "theme_prevalence.parquet",
    columns: &[
        ("theme", Str),
        ("label", Str),
        ("period", Str),
        ("share", F64),
        ("share_low", F64),
        ("share_high", F64),
        ("n_docs", U32),
    ],
};

/// Trend tests and change points of each theme-model topic's prevalence series (as theme_stats).
pub const THEME_PREVALENCE_STATS: Table =
    Table { file: "theme_prevalence_stats.parquet", columns: THEME_STATS.columns };

/// Each keyword theme's words in each period, from the tokens assigned to it in that period's
/// documents only; `distinctiveness`: log₂ ratio of the word's share there to its share in the
/// theme's other periods (0.5 added to counts).
pub const THEME_WORDS_BY_PERIOD: Table = Table {
    file: "theme_words_by_period.parquet",
    columns: &[
        ("theme", Str),
        ("label", Str),
        ("period", Str),
        ("rank", U32),
        ("term", Str),
        ("count", F64),
        ("share", F64),
        ("distinctiveness", F64),
        ("seed", Bool),
    ],
};

/// `themeshift effects`: each theme's regression on the formula's terms by the method of
/// composition (coefficients drawn over posterior draws of θ), tidy.
pub const THEME_EFFECTS: Table = Table {
    file: "theme_effects.parquet",
    columns: &[
        ("theme", Str),
        ("label", Str),
        ("term", Str),
        ("estimate", F64),
        ("std_error", F64),
        ("ci_low", F64),
        ("ci_high", F64),
    ],
};

/// `themeshift effects`: predicted theme share per period (other covariates at their means), with bands.
pub const THEME_EFFECTS_PREDICTED: Table = Table {
    file: "theme_effects_predicted.parquet",
    columns: &[("theme", Str), ("label", Str), ("period", Str), ("estimate", F64), ("ci_low", F64), ("ci_high", F64)],
};
