"""jieba agreement: Python jieba, given the same dictionaries, normalization and filters, must cut the
corpus into the tokens themeshift wrote.

usage: check_segmentation.py RUN_DIR CORPUS.jsonl
RUN_DIR is a `themeshift run --keep-tokens` output of CORPUS.jsonl. Documents themeshift converted from
traditional script are left out (Python would need OpenCC for them); their number is printed.
"""
import json
import pathlib
import sys

import jieba
import polars as pl

jieba.setLogLevel(60)
run, corpus = sys.argv[1], sys.argv[2]
data = pathlib.Path(__file__).resolve().parents[2] / "data"

def entries(path):
    for line in open(path, encoding="utf-8"):
        line = line.strip().lstrip("\ufeff")
        if line and not line.startswith("#"):
            yield line

jieba.initialize()
for line in entries(data / "dict/political.txt"):
    parts = line.split()
    jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None)
for line in entries(data / "dict/split.txt"):
    jieba.del_word(line)
stopwords = set(entries(data / "stopwords/zh.txt"))

HALF = {c: chr(ord(c) - 0xFEE0) for c in "０１２３４５６７８９％．＋－"}
HALF.update({chr(c): chr(c - 0xFEE0) for c in list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B))})
HALF["\u3000"] = " "
NUMBER = set("0123456789.,%+-‰〇零一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟")

def normalize(text):
    lines = (" ".join("".join(HALF.get(c, c) for c in line).split()) for line in text.splitlines())
    return "\n".join(l for l in lines if l)

def keep(token):
    return any(c.isalnum() for c in token) and not all(c in NUMBER for c in token) and token not in stopwords

texts = {}
for line in open(corpus, encoding="utf-8"):
    record = json.loads(line)
    texts[str(record["id"])] = record["text"]
docs = pl.read_parquet(f"{run}/documents.parquet").select("doc_id", "script")
ours = dict(zip(pl.read_parquet(f"{run}/tokens.parquet")["doc_id"], pl.read_parquet(f"{run}/tokens.parquet")["tokens"].to_list()))

def latin(token):
    return any(c.isascii() for c in token)

same_docs = compared = converted = unexplained = 0
agree = total = 0
examples = []
for doc_id, script in docs.iter_rows():
    if script != "simplified":
        converted += 1
        continue
    theirs = [t for t in jieba.cut(normalize(texts[doc_id]), HMM=True) if keep(t)]
    mine = ours[doc_id]
    compared += 1
    if theirs == mine:
        same_docs += 1
        agree += len(mine)
        total += len(mine)
    else:
        # Token agreement by multiset overlap, so one shifted cut is not counted as many.
        from collections import Counter
        a, b = Counter(theirs), Counter(mine)
        overlap = sum((a & b).values())
        # Known difference: jieba-rs keeps Latin/digit runs with hyphens whole (F-22), Python jieba
        # cuts them at the hyphen. Any other difference is counted as unexplained.
        # Also expected: OpenCC converts stray traditional characters inside simplified stories
        # (內 → 内), which this Python side does not; those are printed for a reader to check.
        if not all(latin(t) for t in (a - b) + (b - a)):
            unexplained += 1
            if unexplained <= 5:
                print(f"  other difference {doc_id}: (token, jieba count, our count)",
                      [(t, theirs.count(t), mine.count(t)) for t in list(((a - b) + (b - a)).keys())[:6]])
        agree += overlap
        total += max(len(theirs), len(mine))
        if len(examples) < 5:
            d = [(a, b) for a, b in zip(theirs, mine) if a != b][:3]
            examples.append((doc_id, d))
share = agree / max(total, 1)
print(f"segmentation: {compared} documents compared ({converted} converted from traditional left out); "
      f"identical {same_docs} ({same_docs / max(compared, 1):.4%}); token agreement {share:.5%}")
for doc_id, d in examples:
    print(f"  differs {doc_id}: first (jieba, ours) pairs {d}")
print(f"  documents with other differences (allowed: 1 in 1000): {unexplained}")
ok = share >= 0.999 and unexplained <= compared // 1000
print(f"jieba-segmentation: {int(ok)} passed, {int(not ok)} failed")
sys.exit(0 if ok else 1)
