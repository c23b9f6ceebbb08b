"""Does the Python boundary eat segmentation speed? `themeshift.segment()` on 10,000 normalized
xwlb stories against the CLI's own segment stage on the same stories (best of 3 each, same machine,
same run). Prints the ratio; the target is at most 1.2.

usage: python_segment.py THEMESHIFT_BINARY XWLB_DIR WORK_DIR   (in the venv with the package)
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

import themeshift

binary, corpus, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
lines = []
for path in sorted(corpus.glob("*.jsonl")):
    with open(path, encoding="utf-8") as f:
        lines.extend(line for line in f if line.strip())
    if len(lines) >= 10_000:
        break
sample = work / "ten_thousand.jsonl"
sample.write_text("".join(lines[:10_000]), encoding="utf-8")
cli_seconds = []
for i in range(3):
    out = work / f"seg-cli-{i}"
    subprocess.run([binary, "run", "--input", sample, "--out", out, "--keep-tokens", "--keep-duplicates", "--charts", "none",
                    "--clusters", "0", "--topics", "none", "--quiet"], check=True)
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    cli_seconds.append(next(s["seconds"] for s in stages if s["stage"] == "segment"))
texts = pl.read_parquet(work / "seg-cli-0" / "tokens.parquet")["text"].to_list()
py_seconds = []
for _ in range(3):
    start = time.perf_counter()
    tokens = themeshift.segment(texts)
    py_seconds.append(time.perf_counter() - start)
assert len(tokens) == len(texts) == 10_000
ratio = min(py_seconds) / min(cli_seconds)
print(f"segment of 10,000 stories: CLI stage {min(cli_seconds):.3f} s (dictionary built each run), "
      f"themeshift.segment() first call {py_seconds[0]:.3f} s ({py_seconds[0] / min(cli_seconds):.2f}×), "
      f"later calls {min(py_seconds):.3f} s (dictionary kept; ratio {ratio:.2f}; target ≤ 1.2)")
