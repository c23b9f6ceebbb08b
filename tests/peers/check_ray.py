"""Acceptance: the full xwlb corpus on local Ray against the in-process run.

usage: check_ray.py CORPUS IN_PROCESS_RUN WORK

IN_PROCESS_RUN is acceptance 1's run of the CLI on CORPUS with default options (and the default
shard size). Two Ray runs with 8 MB shards must give the tables of the same run in process with
8 MB shards byte for byte (LSA + k-means and NMF sum by the plan's shards, so their tables follow the
shard plan in the last bits; every other table must equal IN_PROCESS_RUN's too): one on 2 workers undisturbed,
one on 1 worker while this script SIGKILLs a worker process in the middle of its shard (Ray retries
the shard). Then a run with its matrix models (LSA + k-means, NMF) on the workers, each making its
shard's TF-IDF rows from its tokens, so the driver never holds the count matrix, and a run with no
model (no clusters, no topics), whose count rows stay with the shards, each against the same run
in process.
Prints wall times, the driver's and workers' peak RSS and the map's time.
"""
import filecmp
import json
import resource
import sys
import threading
import time
from pathlib import Path

import themeshift.ray

sys.path.insert(0, str(Path(__file__).parent))
from ray_kill import kill_first  # noqa: E402

corpus, local, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok ' if ok else 'FAIL'} {name}{' — ' + detail if detail else ''}")


def ray_run(name, num_cpus, disturb=False):
    # A shard's map takes seconds: 0.3 s in is well inside it.
    killed, stop = kill_first("_map_shard", 0.3) if disturb else ([], threading.Event())
    start = time.perf_counter()
    run = themeshift.ray.run([corpus], out=work / name, num_cpus=num_cpus, shard_mb=8)
    seconds = time.perf_counter() - start
    stop.set()
    sharding = run.manifest["sharding"]
    workers = [w for w in sharding["workers"] if w["shard"] not in sharding["driver_shards"]]
    print(f"  {name}: {seconds:.1f} s wall ({sharding['shards']} shards, {len(sharding['driver_shards'])} read by the "
          f"driver while Ray started; map {sharding['map_seconds']:.1f} s on {num_cpus} worker(s)); worker peak RSS "
          f"{max(w['peak_rss_mib'] for w in workers):.0f} MiB")
    return run, seconds, killed


def same_tables(a, b):
    names = sorted(p.name for p in a.glob("*.parquet"))
    differ = [n for n in names if not filecmp.cmp(a / n, b / n, shallow=False)]
    return len(names), differ


same_plan = themeshift.run([corpus], out=work / "in-process-8mb", shard_mb=8, quiet=True)
undisturbed, seconds, _ = ray_run("ray-2", 2)
in_process = sum(s["seconds"] for s in json.loads((local / "manifest.json").read_text())["stages"])
n, differ = same_tables(same_plan.path, undisturbed.path)
check("2 workers: every table byte-identical to the in-process run with the same shard plan", n >= 15 and not differ,
      f"{n} tables; differ: {differ}")
n, differ = same_tables(local, undisturbed.path)
# LSA's and NMF's sums follow the plan's shards: their tables may differ in the last bits between plans.
MATRIX_MODELS = {"clusters.parquet", "cluster_representatives.parquet", "cluster_trends.parquet", "topics.parquet",
                 "doc_topics.parquet", "topic_representatives.parquet", "topic_trends.parquet", "coherence.parquet"}
check("and to the in-process run with the default shard plan, but the matrix models' tables",
      not set(differ) - MATRIX_MODELS, f"{n} tables; differ: {differ}")

check("wall time within 1.5× of the in-process run", seconds <= 1.5 * in_process + 5,
      f"Ray {seconds:.1f} s (with ray.init) against in-process stages {in_process:.1f} s = {seconds / in_process:.2f}×")
driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"  driver peak RSS {driver:.0f} MiB (the in-process runs' included; it still holds the joined documents)")

disturbed, _, killed = ray_run("ray-1-killed", 1, disturb=True)
check("a worker SIGKILLed in its shard's map", len(killed) == 1, f"pid {killed}")
n, differ = same_tables(undisturbed.path, disturbed.path)
check("1 worker, one killed: every table byte-identical to 2 workers undisturbed", not differ, f"{n} tables; differ: {differ}")
check("same counts and run id", disturbed.manifest["counts"] == undisturbed.manifest["counts"]
      and disturbed.manifest["run_id"] == undisturbed.manifest["run_id"])

# The matrix models on the workers, their rows made from the shards' tokens: the driver never holds
# the count matrix (32 MB shards: NMF's workers send their part of XᵀW every iteration).
options = dict(shard_mb=32)
plain = themeshift.run([corpus], out=work / "in-process-32mb", quiet=True, **options)
start = time.perf_counter()
sharded = themeshift.ray.run([corpus], out=work / "ray-models-on-workers", num_cpus=2, models_on_workers=["lsa", "nmf"],
                             **options)
account = sharded.manifest["sharding"]
print(f"  LSA and NMF on the workers: in process {sum(s['seconds'] for s in plain.manifest['stages']):.1f} s "
      f"(stages), on Ray {time.perf_counter() - start:.1f} s wall ({account['shards']} shards)")
n, differ = same_tables(plain.path, sharded.path)
check("LSA + k-means and NMF on the workers: every table byte-identical to the in-process run", n >= 15 and not differ,
      f"{n} tables; differ: {differ}")
check("the count matrix never on the driver", account["count_matrix_on_driver"] is False
      and account["models_on_workers"] == ["nmf", "lsa"], f"{account['models_on_workers']}, "
      f"count matrix on the driver: {account['count_matrix_on_driver']}")

# No model needs the count matrix: the shards keep their count rows, and the trends' sums, the
# evidence's documents and tfidf.parquet are asked of them.
options = dict(clusters=0, topics="none", shard_mb=8)
plain = themeshift.run([corpus], out=work / "no-models", quiet=True, **options)
start = time.perf_counter()
sharded = themeshift.ray.run([corpus], out=work / "ray-no-models", num_cpus=2, **options)
print(f"  no models: in process {sum(s['seconds'] for s in plain.manifest['stages']):.1f} s (stages), "
      f"on Ray {time.perf_counter() - start:.1f} s wall")
n, differ = same_tables(plain.path, sharded.path)
check("no models, count rows left with the shards: every table byte-identical to the in-process run",
      n >= 10 and not differ, f"{n} tables; differ: {differ}")

failed = results.count(False)
print(f"ray-acceptance: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
