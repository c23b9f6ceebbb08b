"""themeshift: topic and trend analysis of dated Chinese text, from Python.

The same engine as the ``themeshift`` command (Rust, compiled into this package):

>>> import themeshift
>>> r = themeshift.run(["articles/"], out="reports/mine", k=[10, 20])   # doctest: +SKIP
>>> r.tables["themes"]                                                  # doctest: +SKIP
>>> r.to_pandas("term_trend_stats")                                     # doctest: +SKIP

``run`` takes every option of ``themeshift run`` as a keyword argument (same names, snake_case;
``themeshift.RUN_OPTIONS`` lists them) and returns a :class:`Run`; ``open_run`` opens an existing
run folder. The stages are also here on their own: :func:`normalize`, :func:`segment`,
:func:`keywords`, :func:`tfidf`, :func:`dates`. Long calls release the GIL and stop on Ctrl-C
(``KeyboardInterrupt``), leaving the output folder as it was. Errors are
:class:`ThemeshiftError` subclasses carrying the command line's messages.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _themeshift
from ._themeshift import ConfigError, FontError, InputError, ThemeshiftError, WriteError

__version__ = _themeshift.__version__
__all__ = [
    "run", "open_run", "Run", "normalize", "segment", "segment_arrow", "keywords", "tfidf", "dates",
    "RUN_OPTIONS", "ThemeshiftError", "InputError", "ConfigError", "FontError", "WriteError", "main",
]

PathLike = Union[str, os.PathLike]


def _option_table() -> Dict[str, Tuple[str, str, str]]:
    return {flag.replace("-", "_"): (flag, way, help_text) for flag, way, help_text in _themeshift.run_options()}


#: ``themeshift run``'s options as keyword arguments: name → (flag, how it takes values —
#: ``switch``, ``one``, ``list`` (comma-joined) or ``repeat`` (the flag per value) — help).
RUN_OPTIONS: Dict[str, Tuple[str, str, str]] = _option_table()


def _as_argv(inputs: Sequence[PathLike], out: PathLike, options: Dict[str, Any]) -> List[str]:
    argv: List[str] = []
    if inputs:
        argv += ["--input", *map(os.fspath, inputs)]
    argv += ["--out", os.fspath(out)]
    for name, value in options.items():
        if name not in RUN_OPTIONS:
            near = [o for o in RUN_OPTIONS if o.startswith(name[:3])]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(f"unknown option {name!r}{hint}; themeshift.RUN_OPTIONS lists them")
        flag, way, _ = RUN_OPTIONS[name]
        if value is None or value is False:
            continue
        if way == "switch":
            if value is not True:
                raise ConfigError(f"option {name!r} is a switch: pass True or False, not {value!r}")
            argv.append(f"--{flag}")
            continue
        values = [os.fspath(v) if isinstance(v, os.PathLike) else str(v)
                  for v in (value if isinstance(value, (list, tuple)) else [value])]
        if way == "repeat":
            for v in values:
                argv += [f"--{flag}", v]
        else:
            argv += [f"--{flag}", ",".join(values)]
    return argv


class Run:
    """A finished run's folder: its tables (read lazily as polars frames), manifest and charts."""

    def __init__(self, path: PathLike, summary: Optional[dict] = None, _temporary: Optional[tempfile.TemporaryDirectory] = None):
        self.path = Path(path)
        if not (self.path / "manifest.json").is_file():
            raise InputError(f"{self.path}: not a themeshift run folder (no manifest.json)")
        self.summary = summary
        self._temporary = _temporary  # kept while the Run lives, removed with it
        self.tables = _Tables(self.path, self.run_id)

    @property
    def run_id(self) -> Optional[str]:
        """The run's id (``manifest.json``); every table carries it, and reading a table that
        carries another raises :class:`ThemeshiftError` (the folder would mix two runs)."""
        return self.manifest.get("run_id")

    @property
    def manifest(self) -> dict:
        """``manifest.json``: options, seed, counts, skipped and undated records, timings."""
        return json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))

    @property
    def charts(self) -> List[Path]:
        """The chart files of the run (PNG and/or SVG)."""
        return sorted((self.path / "charts").glob("*.*")) if (self.path / "charts").is_dir() else []

    @property
    def report(self) -> Path:
        """``report.html``, the page to open first."""
        return self.path / "report.html"

    def to_pandas(self, name: str):
        """Table ``name`` (e.g. ``"themes"``) as a pandas DataFrame (pyarrow dtypes)."""
        import pandas as pd

        return pd.read_parquet(self.tables.path(name), engine="pyarrow")

    def effects(self, formula: str = "period", *, cluster_by: Optional[str] = None, ci_level: float = 0.95,
                draws: int = 100, seed: int = 42, charts: Optional[str] = None):
        """Regress each theme-model share on ``formula`` (``"period + source"``, ``"time"``, any
        documents column) by the method of composition, as ``themeshift effects``; returns the
        ``theme_effects`` table (``theme_effects_predicted`` is written beside it). Needs a run
        made with ``theme_model=True``."""
        argv = ["themeshift", "effects", str(self.path), "--formula", formula, "--ci-level", str(ci_level),
                "--draws", str(draws), "--seed", str(seed), "--quiet"]
        if cluster_by:
            argv += ["--cluster-by", cluster_by]
        if charts:
            argv += ["--charts", charts]
        if _themeshift.cli(argv) != 0:
            raise ThemeshiftError(f"themeshift effects {self.path} --formula {formula!r} failed (the reason is above)")
        self.tables = _Tables(self.path, self.run_id)
        return self.tables["theme_effects"]

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, tables={sorted(self.tables)})"


class _Tables:
    """name → polars DataFrame, each read on first use."""

    def __init__(self, folder: Path, run_id: Optional[str] = None):
        self._folder = folder
        self._run_id = run_id
        self._cache: Dict[str, Any] = {}

    def path(self, name: str) -> Path:
        path = self._folder / f"{name}.parquet"
        if not path.is_file():
            raise KeyError(f"{name!r}: no {path.name} in {self._folder} (tables: {', '.join(sorted(self))})")
        return path

    def __getitem__(self, name: str):
        if name not in self._cache:
            import polars as pl
            import pyarrow.parquet as pq

            path = self.path(name)
            marked = (pq.read_metadata(path).metadata or {}).get(b"themeshift:run_id")
            if self._run_id and marked and marked.decode() != self._run_id:
                raise ThemeshiftError(f"{path}: a table of run {marked.decode()}, but the folder's manifest is run "
                                      f"{self._run_id}: the folder mixes two runs")
            self._cache[name] = pl.read_parquet(path)
        return self._cache[name]

    def __iter__(self):
        return iter(sorted(p.stem for p in self._folder.glob("*.parquet")))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (self._folder / f"{name}.parquet").is_file()

    def __len__(self) -> int:
        return len(list(iter(self)))

    def keys(self):
        return list(iter(self))

    def __repr__(self) -> str:
        return f"tables({', '.join(self)})"


def run(inputs: Union[PathLike, Sequence[PathLike], None] = None, out: Optional[PathLike] = None, **options: Any) -> Run:
    """Run the whole pipeline on ``inputs`` (files or folders; none: the demo corpus).

    ``out`` is the output folder; ``None`` writes to a temporary folder kept while the returned
    :class:`Run` lives. Every option of ``themeshift run`` is a keyword argument with its name in
    snake_case (``min_df=2``, ``k=[10, 20]``, ``topics=["nmf", "lda"]``, ``charts="none"``,
    ``config="study.toml"``, ``threads=2``, ``seed=7``); ``RUN_OPTIONS`` lists them with their help.
    The run writes into a staging folder beside ``out`` and swaps it into place when it is complete,
    so an error or Ctrl-C leaves ``out`` as it was (a second run into the same ``out`` while one is
    writing is refused). Raises :class:`InputError`,
    :class:`ConfigError` (an unknown option too), :class:`FontError` or :class:`WriteError`.
    """
    if inputs is None:
        inputs = []
    elif isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    options.setdefault("quiet", True)
    temporary = None
    if out is None:
        temporary = tempfile.TemporaryDirectory(prefix="themeshift-")
        out = Path(temporary.name) / "run"
    out = Path(out)
    # The engine writes into a staging folder beside `out` and swaps it into place when complete.
    summary = json.loads(_themeshift.run(_as_argv(list(inputs), out, options)))
    summary["out"] = str(out)
    return Run(out, summary, temporary)


def open_run(path: PathLike) -> Run:
    """The :class:`Run` of an existing output folder of ``themeshift run``."""
    return Run(path)


def normalize(texts: Iterable[str]) -> List[str]:
    """Each text normalized as a run does: traditional → simplified, full-width → half-width,
    whitespace, news boilerplate and repeated paragraphs removed."""
    return _themeshift.normalize(list(texts))


def segment(texts: Iterable[str], user_dicts: Sequence[PathLike] = (), threads: int = 0) -> List[List[str]]:
    """Each text's tokens exactly as a run segments them (jieba-rs, our political-terms dictionary
    and stopwords, plus ``user_dicts`` files of ``word [freq] [tag]`` lines). Pass normalized text
    (see :func:`normalize`) to get a run's ``tokens.parquet``."""
    return _themeshift.segment(list(texts), [os.fspath(p) for p in user_dicts], threads)


def segment_arrow(texts: Iterable[str], user_dicts: Sequence[PathLike] = (), threads: int = 0):
    """:func:`segment` as a ``pyarrow`` ``large_list<large_string>`` array (dictionary-decoded),
    built from flat buffers: the fast path for large corpora."""
    import numpy as np
    import pyarrow as pa

    terms, ids, offsets = _themeshift.segment_ids(list(texts), [os.fspath(p) for p in user_dicts], threads)
    flat = pa.array(terms, type=pa.large_string()).take(pa.array(np.frombuffer(ids, dtype="<u4")))
    starts = pa.array(np.frombuffer(offsets, dtype="<u8").astype(np.int64))
    return pa.LargeListArray.from_arrays(starts, flat)


def keywords(text: str, top: int = 20) -> List[Tuple[str, float]]:
    """jieba-style TF-IDF keywords of one text, as ``themeshift keywords``: (word, weight) pairs."""
    return _themeshift.keywords(text, top)


def tfidf(token_lists: Sequence[Sequence[str]], min_df: Union[int, float] = 1, max_df: Union[int, float] = 1.0,
          max_features: Optional[int] = None, sublinear_tf: bool = False):
    """TF-IDF of token lists with scikit-learn's ``TfidfVectorizer`` semantics (smooth idf, l2 rows),
    as a run computes it. ``min_df``/``max_df``: an int is a number of documents, a float a share.
    Returns ``(matrix, vocabulary)``: a ``scipy.sparse.csr_matrix`` (float32) and the sorted terms."""
    import numpy as np
    import scipy.sparse as sp

    def doc_freq(v):
        return str(int(v)) if isinstance(v, int) and not isinstance(v, bool) else repr(float(v))

    indptr, indices, data, shape, vocabulary = _themeshift.tfidf(
        [list(t) for t in token_lists], doc_freq(min_df), doc_freq(max_df), max_features, sublinear_tf)
    matrix = sp.csr_matrix((np.frombuffer(data, dtype="<f4"), np.frombuffer(indices, dtype="<u4"),
                            np.frombuffer(indptr, dtype="<u8")), shape=shape)
    return matrix, vocabulary


def dates(texts: Iterable[str]):
    """The date rules for texts without metadata (a ``发布时间：`` header line, else a full date in
    the opening 300 characters; a month and day alone is never taken for a date). Returns a polars
    DataFrame: ``date`` (Date, null when undated), ``date_source``, ``reason`` (why undated)."""
    import polars as pl

    rows = _themeshift.dates(list(texts))
    return pl.DataFrame(
        {"date": [r[0] for r in rows], "date_source": [r[1] for r in rows], "reason": [r[2] for r in rows]},
        schema={"date": pl.String, "date_source": pl.String, "reason": pl.String},
    ).with_columns(pl.col("date").str.to_date())


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The ``themeshift`` command, served by this package's extension."""
    args = list(sys.argv if argv is None else ["themeshift", *argv])
    args[0] = "themeshift"
    return _themeshift.cli(args)
