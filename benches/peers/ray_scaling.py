"""Sharded runs on local Ray against the in-process run as the corpus grows (issue 14): wall time, the driver's
and the workers' peak RSS, and whether every table is the same. Writes BENCHMARKS.md's "Sharded runs on Ray"
section and BENCHMARKS-ray.json.

usage: ray_scaling.py BINARY SHARED_DIR [--factors 1,8] [--shard-mb 64] [--num-cpus 2] [--in-process-up-to 8]
                      [--running-ray] [--no-models | --clusters-on-workers]

The corpus is the full xwlb corpus replicated with new ids (as `harness.py --scaling`); both sides run without
topic models and with --keep-duplicates (the harness's scaling options). The in-process run is skipped above
--in-process-up-to (a 32× replica does not fit this machine in one process).
"""
import argparse
import filecmp
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from sections import replace_section  # noqa: E402
from xwlb_corpus import write_corpus  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("bin")
ap.add_argument("shared", type=pathlib.Path)
ap.add_argument("--factors", default="1,8")
ap.add_argument("--shard-mb", type=float, default=64)
ap.add_argument("--num-cpus", type=int, default=2)
ap.add_argument("--in-process-up-to", type=int, default=8)
ap.add_argument("--running-ray", action="store_true",
                help="also time each run against a local Ray started beforehand (`ray start --head`), as a cluster is")
ap.add_argument("--no-models", action="store_true",
                help="no clusters either (`--clusters 0`): no model needs the count matrix, so a sharded run leaves the "
                     "count rows with its shards; written to its own section")
ap.add_argument("--clusters-on-workers", action="store_true",
                help="LSA + k-means on the workers (`models_on_workers=['lsa']`), each making its shard's rows from "
                     "its tokens: no model on the driver needs the count matrix; written to its own section")
ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2] / "BENCHMARKS.md")
args = ap.parse_args()
OPTIONS = ["--keep-duplicates", "--topics", "none", "--quiet", "--shard-mb", str(args.shard_mb)]
OPTIONS += ["--clusters", "0"] if args.no_models else []
SECTION = ("Sharded runs on Ray without models" if args.no_models else
           "Sharded runs on Ray, clusters on the workers" if args.clusters_on_workers else "Sharded runs on Ray")
JSON = {"Sharded runs on Ray without models": "BENCHMARKS-ray-no-models.json",
        "Sharded runs on Ray, clusters on the workers": "BENCHMARKS-ray-clusters-on-workers.json"}.get(SECTION, "BENCHMARKS-ray.json")


def status_mib(pid, keys=("VmRSS:", "RssShmem:")):
    try:
        lines = pathlib.Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    found = {l.split()[0]: int(l.split()[1]) / 1024 for l in lines if l.split() and l.split()[0] in keys}
    return [found.get(k, 0.0) for k in keys]


def timed(command):
    """Wall time of `command`; the peak RSS of its process (MiB, sampled every 0.1 s) and its own peak,
    without the pages of Ray's shared object store it maps (VmRSS - RssShmem); and the peak by
    /usr/bin/time, the largest of the process and every descendant it reaped (for the Ray driver,
    also the processes Ray started)."""
    proc = subprocess.Popen(["/usr/bin/time", "-f", "TIME %e %M", *map(str, command)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, own = 0.0, 0.0
    while proc.poll() is None:
        children = pathlib.Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        for pid in (children.read_text().split() if children.exists() else []):
            rss_shared = status_mib(pid)
            if rss_shared:
                peak = max(peak, rss_shared[0])
                own = max(own, rss_shared[0] - rss_shared[1])
        time.sleep(0.1)
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{err[-3000:]}")
    wall, tree = re.findall(r"TIME (\S+) (\S+)", err)[-1]
    return float(wall), peak, own, int(tree) / 1024


# The driver in a process of its own, so that its peak RSS is measured alone:
# INPUT OUT NUM_CPUS SHARD_MB CLUSTERS MODELS_ON_WORKERS [ADDRESS].
DRIVER = """
import sys, themeshift.ray
clusters = {} if sys.argv[5] == "default" else {"clusters": int(sys.argv[5])}
on_workers = {} if sys.argv[6] == "default" else {"models_on_workers": sys.argv[6].split(",")}
themeshift.ray.run([sys.argv[1]], out=sys.argv[2], num_cpus=int(sys.argv[3]), shard_mb=float(sys.argv[4]),
                   address=sys.argv[7] if len(sys.argv) > 7 else None, keep_duplicates=True, topics="none", **clusters,
                   **on_workers)
"""
ON_WORKERS = "lsa" if args.clusters_on_workers else "default"
CLUSTERS = "0" if args.no_models else "default"
RAY = pathlib.Path(sys.executable).parent / "ray"


def against_running_ray(path, out):
    """Wall time and driver peaks of a run on a local Ray started beforehand and stopped after: what a
    cluster's user pays (no start or stop of Ray inside the run)."""
    subprocess.run([RAY, "start", "--head", f"--num-cpus={args.num_cpus}", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True)
    try:
        return timed([sys.executable, "-c", DRIVER, path, out, args.num_cpus, args.shard_mb, CLUSTERS, ON_WORKERS, "auto"])
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True)

rows = []
with tempfile.TemporaryDirectory() as tmp:
    work = pathlib.Path(tmp)
    base = write_corpus(args.shared / "corpus/xwlb", work / "full.jsonl", "full")
    lines = base.read_text(encoding="utf-8").splitlines()
    for factor in [int(f) for f in args.factors.split(",")]:
        path = work / f"x{factor}.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for copy in range(factor):
                for line in lines:
                    r = json.loads(line)
                    out.write(json.dumps({**r, "id": f"{r['id']}~{copy}"}, ensure_ascii=False) + "\n")
        row = {"factor": factor, "megabytes": path.stat().st_size / 1e6}
        ray_out = work / f"ray{factor}"
        row["ray_seconds"], row["driver_peak_mib"], row["driver_own_mib"], row["ray_tree_peak_mib"] = timed(
            [sys.executable, "-c", DRIVER, path, ray_out, args.num_cpus, args.shard_mb, CLUSTERS, ON_WORKERS])
        row["count_matrix_on_driver"] = json.loads((ray_out / "manifest.json").read_text())["sharding"].get(
            "count_matrix_on_driver")
        sharding = json.loads((ray_out / "manifest.json").read_text())["sharding"]
        row["shards"] = sharding["shards"]
        row["map_seconds"] = sharding["map_seconds"]
        ray_outs = [ray_out]
        if args.running_ray:
            ray_outs.append(work / f"ray-running{factor}")
            row["running_seconds"], row["running_driver_peak_mib"], _, _ = against_running_ray(path, ray_outs[-1])
        row["driver_shards"] = len(sharding.get("driver_shards", []))
        # Workers only: the shards the driver read while its Ray started are in its own peak.
        workers = [w for o in ray_outs for sharded in [json.loads((o / "manifest.json").read_text())["sharding"]]
                   for w in sharded["workers"] if w["shard"] not in sharded.get("driver_shards", [])]
        # (nan when the driver read every shard itself.)
        row["worker_peak_mib"] = max((w["peak_rss_mib"] for w in workers), default=float("nan"))
        row["worker_own_mib"] = max((w["peak_rss_mib"] - w["shared_mib"] for w in workers), default=float("nan"))
        row["shard_rise_mib"] = max((w["peak_rss_mib"] - w["start_rss_mib"] for w in workers), default=float("nan"))
        if factor <= args.in_process_up_to:
            local = work / f"local{factor}"
            # The in-process run starts no other process: /usr/bin/time's peak is its own.
            row["in_process_seconds"], _, _, row["in_process_peak_mib"] = timed(
                [args.bin, "run", "--input", path, "--out", local, *OPTIONS])
            names = sorted(p.name for p in local.glob("*.parquet"))
            row["tables"] = len(names)
            row["tables_differ"] = [n for n in names if any(not filecmp.cmp(local / n, o / n, shallow=False) for o in ray_outs)]
            subprocess.run(["rm", "-rf", local])
        subprocess.run(["rm", "-rf", path, *ray_outs])
        rows.append(row)
        print(json.dumps(row), flush=True)

md = [f"## {SECTION}", "",
      f"Generated by `benches/peers/ray_scaling.py --factors {args.factors} --shard-mb {args.shard_mb:g} --num-cpus {args.num_cpus}{' --running-ray' if args.running_ray else ''}{' --no-models' if args.no_models else ''}{' --clusters-on-workers' if args.clusters_on_workers else ''}`: "
      f"the full xwlb corpus replicated with new ids, `--keep-duplicates --topics none{' --clusters 0' if args.no_models else ''}` on both sides; local Ray "
      f"with {args.num_cpus} CPUs, one map task (read, normalize, segment) per shard, the rest on the driver"
      + (" but LSA + k-means, whose shards — the plan's — Ray actors hold, each making its shard's TF-IDF rows from "
         "the shard's tokens (`models_on_workers=['lsa']`), so the driver never holds the count matrix; "
         if args.clusters_on_workers else "; ")
      + "while a Ray the call started comes up, the driver reads the first shards itself (how many: in brackets), "
      "and the map's time counts from the first shard begun, so with Ray's start. "
      "Driver: the Python process that calls `themeshift.ray.run`: its peak RSS and its own peak, without the "
      "pages of Ray's shared object store it has mapped (VmRSS − RssShmem), both sampled every 0.1 s; largest "
      "process: /usr/bin/time's peak for the driver, the largest of the driver and every process it started and "
      "reaped (Ray's own processes among them). "
      "Worker (of both Ray runs, the driver's shards left out): the highest peak RSS of a worker during one shard's map (reset as each shard begins) and, of it, "
      "the worker's own memory (the peak less the object-store pages it had mapped: the shard texts it made "
      "earlier, which stay in the store until the run ends); rise: the largest increase during one shard. "
      f"In-process runs above {args.in_process_up_to}× are not attempted. "
      + ("Running Ray: the same run against a local Ray started beforehand (`ray start --head`) and stopped after, "
         "as on a cluster: its wall time has no start or stop of Ray in it. " if args.running_ray else ""), "",
      "| corpus | JSONL (MB) | shards (by the driver) | Ray wall (s) | map (s) | in-process wall (s) | Ray ÷ in-process | "
      + ("running Ray: wall (s) / ÷ in-process / driver peak (MiB) | " if args.running_ray else "")
      + "driver peak / own (MiB) | largest process (MiB) | worker peak / own / rise (MiB) | in-process peak (MiB) | tables |",
      "|---|---:|---:|---:|---:|---:|---:|" + ("---|" if args.running_ray else "") + "---:|---:|---:|---:|---|"]
def mib(value):
    return "—" if value != value else f"{value:.0f}"  # nan: no shard went to a worker


for r in rows:
    local = "in_process_seconds" in r
    same = (f"{r['tables']} identical" if not r["tables_differ"] else f"differ: {', '.join(r['tables_differ'])}") if local else "—"
    md.append(f"| {r['factor']}× | {r['megabytes']:.0f} | {r['shards']} ({r['driver_shards']}) | {r['ray_seconds']:.1f} | {r['map_seconds']:.1f} | "
              + (f"{r['in_process_seconds']:.1f} | {r['ray_seconds'] / r['in_process_seconds']:.2f}× | " if local else "— | — | ")
              + ((f"{r['running_seconds']:.1f} / " + (f"{r['running_seconds'] / r['in_process_seconds']:.2f}×" if local else "—")
                  + f" / {r['running_driver_peak_mib']:.0f} | ") if "running_seconds" in r else "")
              + f"{r['driver_peak_mib']:.0f} / {r['driver_own_mib']:.0f} | {r['ray_tree_peak_mib']:.0f} | "
              + " / ".join(mib(r[k]) for k in ("worker_peak_mib", "worker_own_mib", "shard_rise_mib")) + " | "
              + (f"{r['in_process_peak_mib']:.0f} | " if local else "— | ") + f"{same} |")
replace_section(args.out, SECTION, "\n".join(md) + "\n")
args.out.with_name(JSON).write_text(json.dumps({"rows": rows, "shard_mb": args.shard_mb}, indent=1))
print("\n".join(md))
