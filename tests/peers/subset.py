"""Write the stories of a JSONL corpus whose title or text mentions any of the given words.

usage: subset.py OUT.jsonl DIR_OR_FILE... [--words 俄罗斯,普京]
"""
import argparse
import pathlib

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("inputs", nargs="+")
ap.add_argument("--words", default="俄罗斯,普京")
args = ap.parse_args()
words = args.words.split(",")
files = []
for p in map(pathlib.Path, args.inputs):
    files += sorted(p.rglob("*.jsonl")) if p.is_dir() else [p]
kept = 0
with open(args.out, "w", encoding="utf-8") as out:
    for f in files:
        for line in open(f, encoding="utf-8"):
            if any(w in line for w in words):
                out.write(line)
                kept += 1
print(f"subset: {kept} stories mentioning {'/'.join(words)} → {args.out}")
