"""Ingest acceptance on the real material: encodings, the seed articles, traditional script, and the
accounting and duplicate groups of the full corpus.

usage: check_ingest.py THEMESHIFT_BINARY SHARED_DIR FULL_RUN_DIR WORK_DIR
FULL_RUN_DIR is a `themeshift run` output of SHARED_DIR/corpus/xwlb.
"""
import collections
import glob
import json
import pathlib
import subprocess
import sys

import opencc
import polars as pl

binary, shared, full_run, work = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], pathlib.Path(sys.argv[4])
seeds = sorted((shared / "seeds").glob("*.txt"))
simplified_seed, traditional_seed = seeds[0], seeds[1]
results = []

def check(name, ok, detail=""):
    results.append(ok)
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")

def run(*args):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True)

print("1. GB18030 and Big5 copies of the seeds decode to exactly the UTF-8 text")
for seed, encodings in [(simplified_seed, ["gb18030"]), (traditional_seed, ["gb18030", "big5"])]:
    original = seed.read_text(encoding="utf-8")
    for enc in encodings:
        copy = work / f"{seed.stem}.{enc}.txt"
        copy.write_bytes(original.encode(enc))
        out = subprocess.run([binary, "decode", copy], capture_output=True)
        detected = out.stderr.decode().strip().rsplit(": ", 1)[-1]
        check(f"{seed.name} as {enc}", out.returncode == 0 and out.stdout.decode("utf-8") == original, f"detected {detected}")

print("2. the seed articles")
seed_dir = work / "seeds"
seed_dir.mkdir()
for seed in seeds:
    (seed_dir / seed.name).write_bytes(seed.read_bytes())
out = run("run", "--input", seed_dir, "--out", work / "seed_run", "--keep-tokens", "--min-df", "1", "--quiet")
docs = pl.read_parquet(work / "seed_run/documents.parquet")
tokens = pl.read_parquet(work / "seed_run/tokens.parquet")
first, second = docs.row(0, named=True), docs.row(1, named=True)
lines = simplified_seed.read_text(encoding="utf-8").splitlines()
keywords = lines[1].split()
title = next(l for l in reversed(lines[: next(i for i, l in enumerate(lines) if l.startswith("发布时间"))]) if l.strip())
check("000 date from its header", str(first["date"]) == "2013-03-23" and first["date_source"] == "header", str(first["date"]))
check("000 keywords parsed", first["keywords"] == keywords, f"{len(first['keywords'])} keywords")
check("000 title parsed", first["title"] == title, first["title"])
text = tokens["text"][0]
sentences = [s for s in "".join(lines).split("。") if len(s) > 30 and not any(c.isdigit() for c in s)]
repeats = [s.strip() for s in sentences if text.count(s.strip()) != 1]
check("000 body kept once", first["repeated_chars"] > 0 and not repeats, f"{first['repeated_chars']} repeated characters removed")
check("000 photo caption and dateline gone", "摄" not in tokens["tokens"][0] and "新华社记者" not in text and "电　记者" not in text,
      f"{first['boilerplate_chars']} boilerplate characters removed")
check("001 traditional detected and converted", second["script"] == "traditional" and "习近平" in tokens["text"][1])
manifest = json.load(open(work / "seed_run/manifest.json"))
reason = next((u["reason"] for u in manifest["ingest"]["undated"] if traditional_seed.name in u["origin"]), "")
check("001 no year invented", second["date"] is None and "month and day" in reason, reason)

print("3. stories converted to traditional script give the same tokens")
subset = [json.loads(l) for l in open(work / "russia.jsonl", encoding="utf-8")]
s2t = opencc.OpenCC("s2t")
with open(work / "trad.jsonl", "w", encoding="utf-8") as f:
    for r in subset:
        f.write(json.dumps({**r, "title": s2t.convert(r["title"]), "text": s2t.convert(r["text"])}, ensure_ascii=False) + "\n")
for name in ["russia", "trad"]:
    run("run", "--input", work / f"{name}.jsonl", "--out", work / f"{name}_tok", "--keep-tokens", "--keep-duplicates", "--quiet")
ours = dict(zip(*pl.read_parquet(work / "russia_tok/tokens.parquet").select("doc_id", "tokens").to_dict(as_series=False).values()))
trad = dict(zip(*pl.read_parquet(work / "trad_tok/tokens.parquet").select("doc_id", "tokens").to_dict(as_series=False).values()))
agree = total = 0
for doc_id, a in ours.items():
    b = trad[doc_id]
    agree += sum((collections.Counter(a) & collections.Counter(b)).values())
    total += max(len(a), len(b))
check("token agreement ≥ 99.5%", agree / total >= 0.995, f"{agree / total:.4%} of {total} tokens over {len(ours)} stories")

print("4. the full corpus: every line accounted for, duplicate groups found")
m = json.load(open(f"{full_run}/manifest.json"))
c = m["counts"]
lines_in = sum(1 for f in glob.glob(str(shared / "corpus/xwlb/*.jsonl")) for l in open(f, encoding="utf-8") if l.strip())
check("records read = lines", c["records_read"] == lines_in == c["documents_kept"] + c["documents_skipped"], f"{lines_in} lines")
texts = {}
for f in sorted(glob.glob(str(shared / "corpus/xwlb/*.jsonl"))):
    for l in open(f, encoding="utf-8"):
        r = json.loads(l)
        texts.setdefault(r["text"], []).append(r["id"])
full_docs = pl.read_parquet(f"{full_run}/documents.parquet")
head = dict(zip(full_docs["doc_id"], full_docs["duplicate_of"]))
exact = [ids for ids in texts.values() if len(ids) > 1]
split = [ids for ids in exact if len({head[i] or i for i in ids}) != 1]
normalize = next(s["seconds"] for s in m["stages"] if s["stage"] == "normalize")
check("≥ 50 exact-duplicate texts, all grouped", len(exact) >= 50 and not split,
      f"{len(exact)} exact texts, {c['duplicate_groups']} groups, {c['documents_duplicate']} documents; normalize {normalize:.2f} s")

failed = results.count(False)
print(f"ingest-acceptance: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
