"""Acceptance: the shards of LDA and of the theme model sampled on Ray actors, and the documents'
side of NMF and of LSA + k-means held there, give the in-process fits, at any number of workers,
and actors killed in the middle of the fits change nothing.

usage: check_ray_models.py THEMESHIFT RUSSIA_JSONL WORK

Runs the China–Russia subset with the clusters (LSA + k-means), NMF and LDA (k = 20; LDA 120
sweeps) and the theme model (two chains of 120 sweeps, side by side on the actors) in process (the
CLI), on local Ray with 1 and with 2 CPUs, and on 2 CPUs while this script SIGKILLs one actor's
process of each model in the middle of the fits (each driver's sampler — each theme model chain —
NMF and LSA start their shards again, on new actors, from the state they kept). Every table must
be byte-identical in all four. Prints each run's model stage times.
"""
import filecmp
import json
import subprocess
import sys
from pathlib import Path

import themeshift.ray

sys.path.insert(0, str(Path(__file__).parent))
from ray_kill import kill_first  # noqa: E402

BIN, corpus, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
MODELS = {"topics": ["nmf", "lda"], "k": [20], "lda_iterations": 120, "theme_model_iterations": 120,
          "theme_model_chains": 2, "charts": ["none"], "shard_mb": 2}
# On one machine the models' shards stay with the driver unless asked for: here they are.
ON_ACTORS = dict(MODELS, models_on_workers=True)
STAGES = ("cluster", "topics", "theme model")
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok ' if ok else 'FAIL'} {name}{' — ' + detail if detail else ''}", flush=True)


def stage_seconds(run_dir):
    stages = json.loads((run_dir / "manifest.json").read_text())["stages"]
    seconds = {s["stage"]: s["seconds"] for s in stages}
    return ", ".join(f"{stage} {seconds[stage]:.1f} s" for stage in STAGES)


local = work / "models-in-process"
subprocess.run([BIN, "run", "--input", corpus, "--out", local, "--topics", "nmf,lda", "--k", "20", "--lda-iterations",
                "120", "--theme-model-iterations", "120", "--theme-model-chains", "2", "--charts", "none",
                "--shard-mb", "2", "--quiet"], check=True, stdout=subprocess.DEVNULL)
tables = sorted(p.name for p in local.glob("*.parquet"))
print(f"  in process: {stage_seconds(local)}; {len(tables)} tables")
check("the in-process run wrote the models' tables",
      {"clusters.parquet", "topics.parquet", "doc_topics.parquet", "theme_model.parquet", "doc_themes.parquet"}
      <= set(tables))


def ray_run(name, num_cpus, disturb=False):
    watches = [kill_first(actor, 1.0) for actor in ("_LdaWorker", "_NmfWorker", "_LsaWorker", "_ThemeModelWorker")] if disturb else []
    run = themeshift.ray.run([corpus], out=work / name, num_cpus=num_cpus, **ON_ACTORS)
    for _, stop in watches:
        stop.set()
    account = json.loads((run.path / "manifest.json").read_text())["sharding"]
    print(f"  {name}: {stage_seconds(run.path)} on {num_cpus} CPU(s)", flush=True)
    check(f"{name}: the manifest says every model's shards were on the workers",
          account.get("models_on_workers") == ["lda", "theme_model", "nmf", "lsa"], f"{account.get('models_on_workers')}")
    differ = [t for t in tables if not filecmp.cmp(local / t, run.path / t, shallow=False)]
    return differ, [killed for killed, _ in watches]


for name, cpus in (("models-ray-1", 1), ("models-ray-2", 2)):
    differ, _ = ray_run(name, cpus)
    check(f"{cpus} worker(s): every table byte-identical to the in-process run", not differ, f"differ: {differ}")
differ, killed = ray_run("models-ray-2-killed", 2, disturb=True)
check("an LDA, an NMF, an LSA and a theme model actor SIGKILLed during the fits",
      [len(k) for k in killed] == [1, 1, 1, 1],
      f"pids {killed}")
check("actors killed: every table byte-identical to the in-process run", not differ, f"differ: {differ}")

failed = results.count(False)
print(f"ray-models: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
