"""The Python package against the command line: same tables, same tokens, mapped errors, Ctrl-C.

Run after `pip install ./python`: `pytest tests/python`. THEMESHIFT_BIN may name the cargo-built
binary to compare with; otherwise the package's own `themeshift` command is used.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

import themeshift

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OPTIONS = ["--min-df", "1", "--k", "3", "--clusters", "3", "--topics", "nmf,lda", "--lda-iterations", "60",
           "--keep-tokens", "--charts", "none", "--seed", "7", "--quiet"]


def cli(*args):
    binary = os.environ.get("THEMESHIFT_BIN")
    command = [binary] if binary else [sys.executable, "-m", "themeshift"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    done = cli("run", "--input", FIXTURES, "--out", tmp / "cli", *OPTIONS)
    assert done.returncode in (0, 1), done.stderr
    run = themeshift.run([FIXTURES], out=tmp / "py", min_df=1, k=3, clusters=3, topics=["nmf", "lda"],
                         lda_iterations=60, keep_tokens=True, charts="none", seed=7)
    return tmp / "cli", run


def test_run_gives_the_cli_tables(runs):
    cli_dir, run = runs
    names = sorted(p.stem for p in cli_dir.glob("*.parquet"))
    assert len(names) >= 15 and sorted(run.tables) == names
    for name in names:
        assert run.tables[name].equals(pl.read_parquet(cli_dir / f"{name}.parquet")), name
    assert run.manifest["counts"] == json.loads((cli_dir / "manifest.json").read_text())["counts"]
    assert run.summary["counts"]["documents_kept"] == run.manifest["counts"]["documents_kept"]
    assert run.report.is_file() and run.charts == []
    assert run.to_pandas("term_trend_stats").shape == run.tables["term_trend_stats"].shape


def test_a_table_of_another_run_is_refused(runs, tmp_path):
    import shutil

    cli_dir, run = runs
    assert run.run_id and run.run_id == json.loads((cli_dir / "manifest.json").read_text())["run_id"]
    mixed = tmp_path / "mixed"
    shutil.copytree(cli_dir, mixed)
    other = themeshift.run([FIXTURES / "news.jsonl"], out=tmp_path / "other", min_df=1, k=3, clusters=3, charts="none")
    shutil.copy(other.path / "themes.parquet", mixed / "themes.parquet")
    opened = themeshift.open_run(mixed)
    assert opened.tables["periods"].height > 0
    with pytest.raises(themeshift.ThemeshiftError, match="mixes two runs"):
        opened.tables["themes"]


def test_segment_of_the_normalized_texts_is_the_runs_tokens(runs):
    _, run = runs
    tokens = run.tables["tokens"]
    assert themeshift.segment(tokens["text"].to_list()) == tokens["tokens"].to_list()
    arrow = themeshift.segment_arrow(tokens["text"].to_list())
    assert arrow.to_pylist() == tokens["tokens"].to_list()


def test_normalize_converts_script_and_width():
    assert themeshift.normalize(["中國與俄羅斯　ＡＢＣ１２３"]) == ["中国与俄罗斯 ABC123"]


def test_tfidf_is_the_runs_matrix(runs, tmp_path):
    _, run = runs
    tokens = run.tables["tokens"]
    documents = run.tables["documents"]
    analysed = documents.filter(pl.col("duplicate_of").is_null())["doc_id"].to_list()
    lists = [t for d, t in zip(tokens["doc_id"], tokens["tokens"]) if d in set(analysed)]
    matrix, vocabulary = themeshift.tfidf(lists, min_df=1)
    assert vocabulary == run.tables["vocabulary"]["term"].to_list()
    t = run.tables["tfidf"]
    assert matrix.nnz == t.height
    dense = matrix.toarray()
    for r, c, w in zip(t["doc_index"].to_list()[:200], t["term_id"].to_list()[:200], t["weight"].to_list()[:200]):
        row = analysed.index(documents["doc_id"][r])
        assert abs(dense[row, c] - w) < 1e-6


def test_keywords_are_the_cli_keywords():
    article = FIXTURES / "articles" / "2015-07-09_briefing.txt"
    expected = cli("keywords", article, "--top", "10").stdout.split()
    text = article.read_text(encoding="utf-8")
    ours = [w for w, _ in themeshift.keywords(text, top=10)]
    assert len(ours) == 10 and len(set(ours) & set(expected)) >= 8, (ours, expected)


def test_dates_follow_the_ingest_rules():
    frame = themeshift.dates(["标题\n发布时间：2013-03-23\n正文", "新华社3月20日电 会谈举行", "2023年3月21日，双方签署协议"])
    assert [str(d) if d else None for d in frame["date"].to_list()] == ["2013-03-23", None, "2023-03-21"]
    assert frame["date_source"].to_list() == ["header", "none", "text"]
    assert "month and day (3月20日)" in frame["reason"][1]


def test_bad_input_raises_input_error_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "date": "2020-01-01", "text": "中国"}\n{"id": \n', encoding="utf-8")
    with pytest.raises(themeshift.InputError, match=r"bad\.jsonl:2"):
        themeshift.run([bad], out=tmp_path / "out", strict=True, charts="none")
    assert not (tmp_path / "out").exists()


def test_unknown_options_and_bad_values_raise_config_error(tmp_path):
    with pytest.raises(themeshift.ConfigError, match="min_dff"):
        themeshift.run([FIXTURES], out=tmp_path / "x", min_dff=2)
    with pytest.raises(themeshift.ConfigError, match="chart format 'gif'"):
        themeshift.run([FIXTURES], out=tmp_path / "x", charts="gif")
    assert issubclass(themeshift.ConfigError, themeshift.ThemeshiftError)
    assert "min_df" in themeshift.RUN_OPTIONS and "lda_iterations" in themeshift.RUN_OPTIONS


def test_open_run_and_a_temporary_run(runs):
    cli_dir, _ = runs
    opened = themeshift.open_run(cli_dir)
    assert opened.tables["themes"].height > 0 and "themes" in opened.tables
    temporary = themeshift.run([FIXTURES / "news.jsonl"], min_df=1, clusters=0, topics=["none"], charts="none")
    folder = temporary.path
    assert folder.is_dir() and temporary.tables["documents"].height == 12
    del temporary
    assert not folder.exists()


def test_ctrl_c_stops_a_run_within_two_seconds_and_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "marker.txt").write_text("an earlier run")
    script = textwrap.dedent(f"""
        import time, themeshift
        try:
            themeshift.run(out={str(out)!r}, topics=["lda"], lda_iterations=20000, k=20, charts="none")
            print("FINISHED")
        except KeyboardInterrupt:
            print("INTERRUPTED", time.time())
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    time.sleep(4)
    sent = time.time()
    child.send_signal(signal.SIGINT)
    stdout, _ = child.communicate(timeout=60)
    assert "INTERRUPTED" in stdout, stdout
    stopped = float(stdout.split()[-1])
    assert stopped - sent < 2.0, f"{stopped - sent:.2f} s from Ctrl-C to KeyboardInterrupt"
    assert sorted(p.name for p in out.iterdir()) == ["marker.txt"]
    assert not list(tmp_path.glob(".kept.staging-*")), "staging folder left behind"


def test_the_command_is_on_the_path_and_help_reads_well():
    done = subprocess.run([sys.executable, "-m", "themeshift", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "themeshift" in done.stdout
    assert "Run the whole pipeline" in themeshift.run.__doc__


def test_theme_model_and_its_effects_from_python(tmp_path):
    demo = tmp_path / "demo.jsonl"
    assert cli("run", "--out", tmp_path / "cli-demo", "--quiet", "--charts", "none").returncode == 0
    demo = tmp_path / "cli-demo-input" / "demo_corpus.jsonl"
    r = themeshift.run([demo], out=tmp_path / "themes", theme_model=True, theme_model_iterations=60, free_topics=2,
                       topics=["none"], clusters=0, charts="none", quiet=True)
    prevalence = r.tables["theme_prevalence"]
    assert {"theme", "period", "share", "share_low", "share_high"} <= set(prevalence.columns)
    effects = r.effects("time", draws=20)
    energy = effects.filter((pl.col("theme") == "energy") & (pl.col("term") == "time"))
    assert energy["estimate"][0] < 0 and energy["ci_high"][0] < 0
    assert "theme_effects_predicted" in r.tables
    with pytest.raises(themeshift.ThemeshiftError):
        r.effects("period + nowhere")
