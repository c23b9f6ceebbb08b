"""Keyword check: `themeshift keywords` on an exported article must list the article's own
关键词 line, in order, and agree with Python jieba's extract_tags on the same text: the title (the line
before 发布时间) and the body after the 发布时间 line.

usage: check_keywords.py THEMESHIFT_BINARY ARTICLE.txt
"""
import subprocess
import sys

import jieba
import jieba.analyse

jieba.setLogLevel(60)
binary, article = sys.argv[1], sys.argv[2]
lines = open(article, encoding="utf-8").read().splitlines()
label = next(i for i, l in enumerate(lines) if l.startswith("关键词"))
expected = (lines[label].split("：", 1)[1].split() or lines[label + 1].split())
date_line = next(i for i, l in enumerate(lines) if l.startswith("发布时间"))
title = next(l for l in reversed(lines[:date_line]) if l.strip())
body = title + "\n" + "\n".join(lines[date_line + 1:])

ours = subprocess.run([binary, "keywords", article, "--top", str(len(expected))], check=True,
                      capture_output=True, text=True).stdout.split()
python = jieba.analyse.extract_tags(body, topK=len(expected))
print("expected:", " ".join(expected))
print("ours:    ", " ".join(ours))
print("jieba:   ", " ".join(python))
failed = int(ours != expected) + int(ours != python)
print(f"keywords: {2 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
