"""What a new user meets first: the demo, one article, the two seed articles, and a run without a
font (--charts none), each checked as the issues that asked for them state.

usage: check_first_run.py THEMESHIFT_BINARY SHARED_DIR WORK_DIR
Writes WORK_DIR/demo (a run of the demo with PNG and SVG charts, for the readers, report and
notebook checks that follow).
"""
import json
import os
import pathlib
import subprocess
import sys
import time

import polars as pl

binary, shared, work = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")


def run(*args, env=None):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, env=env)


print("1. the demo looks like a real run, in seconds")
start = time.time()
out = run("run", "--out", work / "demo", "--charts", "png,svg", "--keep-tokens", "--quiet")
seconds = time.time() - start
manifest = json.load(open(work / "demo/manifest.json"))
vocabulary = manifest["counts"]["vocabulary"]
npmi = [t["coherence"]["c_npmi"] for t in manifest["models"]["topics"]]
check("exit 0 in under 10 s", out.returncode == 0 and seconds < 10, f"{seconds:.2f} s")
check("≥ 2,000 documents over ≥ 10 periods", manifest["counts"]["documents_analysed"] >= 2000 and manifest["counts"]["periods"] >= 10,
      f"{manifest['counts']['documents_analysed']} documents, {manifest['counts']['periods']} periods")
check("vocabulary ≥ 1,500 terms", vocabulary >= 1500, f"{vocabulary}")
check("topics' c_npmi ≥ 0.10 over its own tokens", npmi and min(npmi) >= 0.10, f"{npmi}")

print("2. one article and the two seed articles")
seeds = sorted((shared / "seeds").glob("*.txt"))
for name, inputs in [("one", seeds[:1]), ("seeds", seeds)]:
    out = run("run", "--input", *inputs, "--out", work / f"first-{name}")
    m = json.load(open(work / f"first-{name}/manifest.json"))
    fitted = [t["k"] for t in m["models"].get("topics") or []] + ([m["models"]["clusters"]["k"]] if m["models"].get("clusters") else [])
    check(f"{name}: exit 0, a report, no model with k > documents", out.returncode == 0 and (work / f"first-{name}/report.html").is_file()
          and all(k <= m["counts"]["documents_analysed"] for k in fitted), f"models fitted: {fitted or 'none'}")
    check(f"{name}: the skipped models' reasons in the summary", "skipped: it needs at least" in out.stdout)
    report = (work / f"first-{name}/report.md").read_text()
    check(f"{name}: keywords of each document in the report", "## Keywords of each document" in report)
check("seeds: says why the 2023 article is undated and how to date it",
      "month and day" in out.stdout and "--dates FILE" in out.stdout and "--default-date" in out.stdout)

print("3. without any font: --charts none writes every table and report")
home = work / "no-font-home"
home.mkdir()
env = {**os.environ, "HOME": str(home), "PATH": "/nonexistent"}
env.pop("THEMESHIFT_FONT", None)
env.pop("XDG_DATA_HOME", None)
out = run("run", "--input", seeds[0], "--out", work / "no-font", "--charts", "none", env=env)
tables = sorted(p.name for p in (work / "no-font").glob("*.parquet"))
check("exit 0, tables and reports, no charts", out.returncode == 0 and len(tables) >= 10 and not (work / "no-font/charts").exists()
      and (work / "no-font/report.html").is_file(), f"{len(tables)} tables")
for table in tables:
    pl.read_parquet(work / "no-font" / table)

failed = results.count(False)
print(f"first-run: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
