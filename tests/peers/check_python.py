"""The Python package on the China–Russia subset: `themeshift.run` gives the CLI's tables, and
`segment()` of the run's normalized texts gives its tokens.parquet.

usage: check_python.py THEMESHIFT_BINARY RUSSIA_JSONL WORK_DIR XWLB_DIR   (in the venv with the package)
Also: Ctrl-C during a full-corpus run of XWLB_DIR raises KeyboardInterrupt within two seconds and leaves
the output folder as it was.
"""
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

import themeshift

binary, subset, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")


options = ["--keep-tokens", "--charts", "none", "--topics", "nmf,lda", "--seed", "11", "--quiet"]
subprocess.run([binary, "run", "--input", subset, "--out", work / "py-cli", *options], check=True, capture_output=True)
start = time.time()
run = themeshift.run([subset], out=work / "py-run", keep_tokens=True, charts="none", topics=["nmf", "lda"], seed=11)
seconds = time.time() - start
names = sorted(p.stem for p in (work / "py-cli").glob("*.parquet"))
different = [n for n in names if not run.tables[n].equals(pl.read_parquet(work / "py-cli" / f"{n}.parquet"))]
check("every table of themeshift.run equals the CLI's", not different and sorted(run.tables) == names,
      f"{len(names)} tables, {seconds:.1f} s" + (f"; different: {different}" if different else ""))

tokens = run.tables["tokens"]
start = time.time()
ours = themeshift.segment(tokens["text"].to_list())
seconds = time.time() - start
check("segment() of the normalized texts equals tokens.parquet", ours == tokens["tokens"].to_list(),
      f"{tokens.height} documents in {seconds:.2f} s")

# Ctrl-C during a full-corpus run: a KeyboardInterrupt within two seconds, the folder as it was.
corpus = Path(sys.argv[4])
if corpus.is_dir():
    kept = work / "py-kept"
    kept.mkdir(exist_ok=True)
    (kept / "marker.txt").write_text("an earlier run")
    script = (f"import time, themeshift\ntry:\n    themeshift.run([{str(corpus)!r}], out={str(kept)!r}, topics=['nmf', 'lda'])\n"
              f"    print('FINISHED')\nexcept KeyboardInterrupt:\n    print('INTERRUPTED', time.time())\n")
    for delay in (3.0, 9.0):  # during segmentation or normalization, then during the models
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        time.sleep(delay)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        stdout, _ = child.communicate(timeout=120)
        latency = float(stdout.split()[-1]) - sent if "INTERRUPTED" in stdout else float("inf")
        left = sorted(p.name for p in kept.iterdir())
        staging = list(work.glob(".py-kept.staging-*"))
        check(f"Ctrl-C {delay:.0f} s into a full-corpus run stops it, folder as it was", latency < 2.0 and left == ["marker.txt"]
              and not staging, f"KeyboardInterrupt after {latency:.2f} s; folder holds {left}")

failed = results.count(False)
print(f"python-package: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
