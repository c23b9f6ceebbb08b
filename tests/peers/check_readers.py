"""Every table of a run loads with pandas (pyarrow engine), pyarrow, polars and DuckDB, with the
README's dtypes: strings as strings (no view types), lists of strings as lists, dates as dates.

    python tests/peers/check_readers.py RUN_DIR [RUN_DIR ...]
"""
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

# Columns whose type the README promises, checked in every reader that has the notion.
LISTS = {"documents": ["keywords"], "term_trend_stats": ["change_points"], "theme_stats": ["change_points"],
         "tokens": ["tokens"]}
DATES = {"documents": ["date"], "evidence": ["date"]}
UINTS = {"documents": ["n_chars", "n_tokens"], "vocabulary": ["term_id", "df"], "tfidf": ["doc_index", "term_id", "count"]}

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def no_views(t):
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        return False
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return no_views(t.value_type)
    if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return False
    return True


tables = 0
for run in map(Path, sys.argv[1:]):
    files = sorted(run.glob("*.parquet"))
    check(len(files) >= 10, f"{run}: only {len(files)} tables")
    for path in files:
        name = path.stem
        arrow = pq.read_table(path)
        for field in arrow.schema:
            check(no_views(field.type), f"{path.name}: {field.name} is {field.type} (a view type)")
        for col in LISTS.get(name, []):
            t = arrow.schema.field(col).type
            check(pa.types.is_list(t) or pa.types.is_large_list(t), f"{path.name}: {col} is {t}, not a list")
        for col in DATES.get(name, []):
            check(pa.types.is_date32(arrow.schema.field(col).type), f"{path.name}: {col} is not a date")
        for col in UINTS.get(name, []):
            check(pa.types.is_unsigned_integer(arrow.schema.field(col).type), f"{path.name}: {col} is not unsigned")
        frame = pd.read_parquet(path, engine="pyarrow")
        check(len(frame) == arrow.num_rows, f"{path.name}: pandas read {len(frame)} of {arrow.num_rows} rows")
        for col in LISTS.get(name, []):
            first = next((v for v in frame[col] if v is not None and len(v)), None)
            check(first is None or isinstance(first[0], str), f"{path.name}: pandas {col} holds {type(first)}")
        polars = pl.read_parquet(path)
        check(polars.shape == (arrow.num_rows, arrow.num_columns), f"{path.name}: polars shape {polars.shape}")
        for col in LISTS.get(name, []):
            check(polars.schema[col] == pl.List(pl.String), f"{path.name}: polars {col} is {polars.schema[col]}")
        for col in DATES.get(name, []):
            check(polars.schema[col] == pl.Date, f"{path.name}: polars {col} is {polars.schema[col]}")
        rows = duckdb.connect().execute(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
        check(rows == arrow.num_rows, f"{path.name}: DuckDB counted {rows} rows")
        tables += 1
    print(f"{run}: {len(files)} tables read by pandas {pd.__version__}, pyarrow {pa.__version__}, "
          f"polars {pl.__version__}, DuckDB {duckdb.__version__}")

for f in failures:
    print("FAIL", f)
print(f"readers: {tables - len({f.split(':')[0] for f in failures})} passed, {len({f.split(':')[0] for f in failures})} failed")
sys.exit(1 if failures else 0)
