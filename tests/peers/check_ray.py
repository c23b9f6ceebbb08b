"""Acceptance: the full xwlb corpus on local Ray against the in-process run.

usage: check_ray.py CORPUS IN_PROCESS_RUN WORK

IN_PROCESS_RUN is acceptance 1's run of the CLI on CORPUS with default options (and the default
shard size). The tables do not depend on the shard plan, so two Ray runs with 8 MB shards must give
its tables byte for byte: one on 2 workers undisturbed, one on 1 worker while this script SIGKILLs
a worker process in the middle of its shard (Ray retries the shard). Prints wall times, the
driver's and workers' peak RSS and the map's time.
"""
import filecmp
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import themeshift.ray

corpus, local, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok ' if ok else 'FAIL'} {name}{' — ' + detail if detail else ''}")


def map_workers():
    """Pids of Ray workers running a shard's map now (Ray names the process after the task)."""
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split(None, 1)[0]) for line in ps.splitlines() if "ray::_map_shard" in line]


def kill_one(killed, stop):
    while not stop.is_set():
        pids = map_workers()
        if pids:
            time.sleep(0.3)  # well inside the shard's map, which takes seconds
            try:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            except ProcessLookupError:
                continue
        time.sleep(0.05)


def ray_run(name, num_cpus, disturb=False):
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=kill_one, args=(killed, stop), daemon=True)
    if disturb:
        killer.start()
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


undisturbed, seconds, _ = ray_run("ray-2", 2)
in_process = sum(s["seconds"] for s in json.loads((local / "manifest.json").read_text())["stages"])
n, differ = same_tables(local, undisturbed.path)
check("2 workers: every table byte-identical to the in-process run", n >= 15 and not differ, f"{n} tables; differ: {differ}")
check("wall time within 1.5× of the in-process run", seconds <= 1.5 * in_process + 5,
      f"Ray {seconds:.1f} s (with ray.init) against in-process stages {in_process:.1f} s = {seconds / in_process:.2f}×")
driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"  driver peak RSS {driver:.0f} MiB (it still holds the joined corpus: not yet bounded)")

disturbed, _, killed = ray_run("ray-1-killed", 1, disturb=True)
check("a worker SIGKILLed in its shard's map", len(killed) == 1, f"pid {killed}")
n, differ = same_tables(undisturbed.path, disturbed.path)
check("1 worker, one killed: every table byte-identical to 2 workers undisturbed", not differ, f"{n} tables; differ: {differ}")
check("same counts and run id", disturbed.manifest["counts"] == undisturbed.manifest["counts"]
      and disturbed.manifest["run_id"] == undisturbed.manifest["run_id"])

failed = results.count(False)
print(f"ray-acceptance: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
