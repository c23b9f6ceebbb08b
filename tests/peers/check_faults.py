"""Faults on the full corpus: a run killed at random moments leaves a whole run (old or new) in
place; a second writer is refused and a dead writer's lock is taken over; SIGTERM and Ctrl-C stop
cleanly; a full disk fails with a clear error and the previous run intact; unreadable entries are
counted skips; a 100 MB document and 100,000 tiny files go through.

usage: check_faults.py THEMESHIFT_BINARY SHARED_DIR WORK_DIR
"""
import json
import os
import pathlib
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import polars as pl

binary, shared, work = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]) / "faults"
corpus = shared / "corpus/xwlb"
work.mkdir(parents=True, exist_ok=True)
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def start(out, *extra, **kw):
    args = [binary, "run", "--input", str(corpus), "--out", str(out), "--quiet", *map(str, extra)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run(out, *extra, inputs=None, **kw):
    args = [binary, "run", "--input", *map(str, inputs or [corpus]), "--out", str(out), "--quiet", *map(str, extra)]
    return subprocess.run(args, capture_output=True, text=True, **kw)


def whole_run(out):
    """The run id every file of the folder agrees on, or why there is none."""
    try:
        manifest = json.load(open(out / "manifest.json"))
    except Exception as e:  # noqa: BLE001 — any failure to read is the finding
        return None, f"manifest.json: {e}"
    run_id = manifest["run_id"]
    for name in manifest["outputs"]:
        path = out / name
        if not path.is_file():
            return None, f"{name} missing"
        if name.endswith(".parquet"):
            try:
                pl.read_parquet(path)
                stored = pl.read_parquet_metadata(path).get("themeshift:run_id")
            except Exception as e:  # noqa: BLE001
                return None, f"{name}: {e}"
            if stored != run_id:
                return None, f"{name} carries run id {stored}, the manifest {run_id}"
    return run_id, ""


def leftovers(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


print("1. SIGKILL at 20 random moments of a full-corpus rerun into an existing run")
out = work / "killed"
begin = time.time()
first = run(out, "--seed", 1)
full_seconds = time.time() - begin
first_id = whole_run(out)[0]
check("the first run completes", first.returncode in (0, 1) and first_id, f"{full_seconds:.1f} s")
rng = random.Random(20261125)
seen = {"old": 0, "new": 0}
bad = []


def staged(process, name):
    """Wait until the run's staging folder holds `name` (or the run ends); whether it does."""
    folder = out.parent / f".{out.name}.staging-{process.pid}"
    while process.poll() is None:
        if (folder / name).exists():
            return True
        time.sleep(0.005)
    return False


for kill in range(20):
    # Seeds alternate, so the rerun's run id always differs from the one in place.
    seed = 2 if kill % 2 == 0 else 1
    before, _ = whole_run(out)
    process = start(out, "--seed", seed)
    # Ten moments anywhere in the run; five while the tables are being written (a random delay
    # after the first appears); five at the commit (the moment the manifest is in place).
    if kill < 10:
        moment = rng.uniform(0.2, full_seconds)
        try:
            process.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            pass
    elif kill < 15:
        staged(process, "documents.parquet")
        time.sleep(rng.uniform(0, 2.0))
    else:
        staged(process, "manifest.json")
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()
    after, why = whole_run(out)
    if after is None:
        bad.append(f"kill {kill}: {why}")
        continue
    seen["old" if after == before else "new"] += 1
check("after every kill every table loads and all carry one run id", not bad, "; ".join(bad) or
      f"{seen['old']} kills left the previous run, {seen['new']} the new one")
last = run(out, "--seed", 1)
check("the next run takes over the dead run's lock and completes", last.returncode in (0, 1) and whole_run(out)[0] == first_id,
      "note said" if "took over the lock" in last.stdout + last.stderr else "no lock was left (the last kill came after the commit)")
check("no staging folder or lock is left after a completed run", not leftovers(out), f"{leftovers(out)}")

print("2. two runs into one folder")
out = work / "concurrent"
a = start(out, "--seed", 1)
time.sleep(1.5)
b = run(out, "--seed", 2)
a.wait()
said = b.stdout + b.stderr
check("the second exits 2 naming the first", b.returncode == 2 and f"another themeshift process (pid {a.pid}) is writing into" in said,
      said.strip().splitlines()[-1] if said.strip() else "")
check("the first completes whole", a.returncode in (0, 1) and whole_run(out)[0] is not None)

print("3. SIGTERM and Ctrl-C stop a rerun cleanly")
for name, sig, code in [("SIGTERM", signal.SIGTERM, 143), ("Ctrl-C (SIGINT)", signal.SIGINT, 130)]:
    before, _ = whole_run(out)
    process = start(out, "--seed", 3)
    time.sleep(4)
    process.send_signal(sig)
    sent = time.time()
    _, err = process.communicate()
    stopped = time.time() - sent
    check(f"{name}: exit {code}, the previous run untouched, nothing left behind",
          process.returncode == code and "stopped by" in err and whole_run(out)[0] == before and not leftovers(out),
          f"exit {process.returncode} {stopped:.2f} s after the signal; {err.strip()}")

print("4. a full disk")
small = work / "small.jsonl"
with open(corpus / "2013.jsonl") as f, open(small, "w") as g:
    for _, line in zip(range(300), f):
        g.write(line)
disk = work / "disk"
disk.mkdir(exist_ok=True)
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True).returncode == 0
try:
    if mounted:
        limit, out = None, disk / "run"
        how = "a 6 MB tmpfs"
    else:
        # No permission to mount: the same failure from a file-size limit (EFBIG instead of ENOSPC).
        limit, out = 6 << 20, disk / "run"
        how = "a 6 MB file-size limit (no permission to mount a tmpfs)"

    def limited():
        if limit:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    small_run = run(out, "--charts", "none", inputs=[small], preexec_fn=limited)
    before, _ = whole_run(out)
    big = run(out, "--charts", "none", preexec_fn=limited)
    said = (big.stdout + big.stderr).strip()
    check(f"on {how}: the small run fits", small_run.returncode in (0, 1) and before is not None, small_run.stderr.strip()[-200:])
    check("the full corpus fails with a clear write error", big.returncode == 2 and ("No space left on device" in said or "File too large" in said),
          said.splitlines()[-1] if said else "")
    check("the previous run is intact and no staging folder is left", whole_run(out)[0] == before and not leftovers(out), f"{leftovers(out)}")
finally:
    if mounted:
        subprocess.run(["umount", str(disk)])

print("5. unreadable files and folders are counted skips (fatal under --strict)")
# In a folder of its own under the system's temporary folder: the unprivileged user must be able to
# reach it, and the work folder (from mktemp -d) is private to root.
folder = pathlib.Path(tempfile.mkdtemp(prefix="themeshift-unreadable-"))
(folder / "in/locked").mkdir(parents=True)
shutil.copy(small, folder / "in/good.jsonl")
shutil.copy(small, folder / "in/secret.jsonl")
(folder / "in/locked/more.jsonl").write_text(small.read_text())
os.chmod(folder / "in/secret.jsonl", 0)
os.chmod(folder / "in/locked", 0)
prefix = []
if os.geteuid() == 0:
    # root reads everything: run as nobody, with a copy of the binary nobody may execute.
    shutil.copy(binary, folder / "themeshift")
    os.chmod(folder, 0o777)
    os.chmod(folder / "themeshift", 0o755)
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
exe = str(folder / "themeshift") if prefix else binary
args = [*prefix, exe, "run", "--input", str(folder / "in"), "--charts", "none", "--quiet"]
env = {**os.environ, "HOME": str(folder)}
loose = subprocess.run([*args, "--out", str(folder / "out")], capture_output=True, text=True, env=env)
strict = subprocess.run([*args, "--out", str(folder / "strict"), "--strict"], capture_output=True, text=True, env=env)
try:
    m = json.load(open(folder / "out/manifest.json"))
    reasons = sorted(s["reason"].split(";")[0] for s in m["ingest"]["skipped"])
    balanced = m["counts"]["records_read"] == m["counts"]["documents_kept"] + m["counts"]["documents_skipped"]
except Exception as e:  # noqa: BLE001
    reasons, balanced = [f"no manifest: {e}; {loose.stderr.strip()}"], False
check("an unreadable file and folder are skipped with the reason, the account balances", loose.returncode == 1 and balanced and reasons == [
    "unreadable file: Permission denied (os error 13)", "unreadable folder: Permission denied (os error 13)"], f"{reasons}")
check("--strict stops on them", strict.returncode == 2 and "--strict" in strict.stderr, strict.stderr.strip().splitlines()[-1] if strict.stderr.strip() else "")
os.chmod(folder / "in/locked", 0o755)
shutil.rmtree(folder, ignore_errors=True)

print("6. one 100 MB document")
big_dir = work / "big"
big_dir.mkdir(exist_ok=True)
written = 0
with open(big_dir / "one.txt", "w") as g:
    g.write("发布时间：2015-05-08\n")
    for path in sorted(corpus.glob("*.jsonl")):
        for line in open(path):
            text = json.loads(line).get("text") or ""
            g.write(text.replace("\n", "") + "\n")
            written += len(text.encode())
            if written >= 100_000_000:
                break
        if written >= 100_000_000:
            break
begin = time.time()
one = run(work / "big-out", "--charts", "none", inputs=[big_dir])
seconds = time.time() - begin
m = json.load(open(work / "big-out/manifest.json")) if one.returncode in (0, 1) else {}
peak = max((s["peak_rss_mib"] for s in m.get("stages", [])), default=0)
check("segmented and analysed", one.returncode == 0 and m["counts"]["documents_kept"] == 1,
      f"{written / 1e6:.0f} MB in {seconds:.1f} s, peak RSS {peak:.0f} MiB")
refused = run(work / "big-refused", "--charts", "none", "--max-document-mb", "50", inputs=[big_dir])
check("over --max-document-mb 50 it is refused, saying so", refused.returncode == 2 and "over the 50 MB limit" in refused.stderr,
      refused.stderr.strip().splitlines()[-1] if refused.stderr.strip() else "")

print("7. 100,000 tiny files in nested folders")
tiny = work / "tiny"
shutil.rmtree(tiny, ignore_errors=True)
titles = []
with open(corpus / "2016.jsonl") as f:
    for line in f:
        record = json.loads(line)
        titles.append((record.get("date") or "2016-01-01", (record.get("text") or "")[:60]))
        if len(titles) == 5000:
            break
begin = time.time()
for folder_index in range(100):
    sub = tiny / f"{folder_index // 10:02d}" / f"{folder_index:03d}"
    sub.mkdir(parents=True)
    for i in range(1000):
        date, text = titles[(folder_index * 1000 + i) % len(titles)]
        (sub / f"{i:04d}.txt").write_text(f"发布时间：{date}\n{text}（第{folder_index}-{i}篇）\n")
made = time.time() - begin
begin = time.time()
many = run(work / "tiny-out", "--charts", "none", inputs=[tiny])
seconds = time.time() - begin
m = json.load(open(work / "tiny-out/manifest.json")) if many.returncode in (0, 1) else {"counts": {}, "stages": []}
ingest = next((s for s in m["stages"] if s["stage"] == "ingest"), {"seconds": float("nan"), "peak_rss_mib": 0})
check("all 100,000 read and kept", m["counts"].get("records_read") == 100_000 and m["counts"].get("documents_kept") == 100_000,
      f"run {seconds:.1f} s; ingest {ingest['seconds']:.2f} s = {100_000 / ingest['seconds']:,.0f} files/s; "
      f"peak RSS {max((s['peak_rss_mib'] for s in m['stages']), default=0):.0f} MiB (writing the files took {made:.0f} s)")
shutil.rmtree(tiny, ignore_errors=True)
shutil.rmtree(big_dir, ignore_errors=True)

print(f"faults: {sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
