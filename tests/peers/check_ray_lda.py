"""Acceptance: LDA's shards sampled on Ray actors give the in-process fit, at any number of workers,
and a worker killed in the middle of the fit changes nothing.

usage: check_ray_lda.py THEMESHIFT RUSSIA_JSONL WORK

Runs the China–Russia subset with LDA (k = 20, 120 sweeps) in process (the CLI), on local Ray
with 1 and with 2 CPUs, and on 2 CPUs while this script SIGKILLs an LDA actor's process in the
middle of the fit (the driver's LDA starts its shards again from the warm-up on new actors). The
topic tables must be byte-identical in all four. Prints each run's topics stage time.
"""
import filecmp
import json
import subprocess
import sys
import threading
from pathlib import Path

import themeshift.ray

sys.path.insert(0, str(Path(__file__).parent))
from ray_kill import kill_first  # noqa: E402

BIN, corpus, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
# On one machine LDA's shards stay with the driver unless asked for: here they are.
OPTIONS = {"topics": ["lda"], "k": [20], "lda_iterations": 120, "charts": ["none"], "shard_mb": 2, "lda_on_workers": True}
TABLES = ["topics", "doc_topics", "topic_trends", "topic_representatives", "coherence"]
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok ' if ok else 'FAIL'} {name}{' — ' + detail if detail else ''}", flush=True)


def topics_seconds(run_dir):
    stages = json.loads((run_dir / "manifest.json").read_text())["stages"]
    return next(s["seconds"] for s in stages if s["stage"] == "topics")


local = work / "lda-in-process"
subprocess.run([BIN, "run", "--input", corpus, "--out", local, "--topics", "lda", "--k", "20", "--lda-iterations",
                "120", "--charts", "none", "--shard-mb", "2", "--quiet"], check=True, stdout=subprocess.DEVNULL)
print(f"  in process: topics {topics_seconds(local):.1f} s")


def ray_run(name, num_cpus, disturb=False):
    # Some sweeps into the fit.
    killed, stop = kill_first("_LdaWorker", 1.0) if disturb else ([], threading.Event())
    run = themeshift.ray.run([corpus], out=work / name, num_cpus=num_cpus, **OPTIONS)
    stop.set()
    print(f"  {name}: topics {topics_seconds(run.path):.1f} s on {num_cpus} CPU(s)", flush=True)
    differ = [t for t in TABLES if not filecmp.cmp(local / f"{t}.parquet", run.path / f"{t}.parquet", shallow=False)]
    return differ, killed


for name, cpus in (("lda-ray-1", 1), ("lda-ray-2", 2)):
    differ, _ = ray_run(name, cpus)
    check(f"{cpus} worker(s): the topic tables byte-identical to the in-process fit", not differ, f"differ: {differ}")
differ, killed = ray_run("lda-ray-2-killed", 2, disturb=True)
check("an LDA actor SIGKILLed during the fit", len(killed) == 1, f"pid {killed}")
check("one actor killed: the topic tables byte-identical to the in-process fit", not differ, f"differ: {differ}")

failed = results.count(False)
print(f"ray-lda: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
