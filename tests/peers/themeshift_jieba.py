"""Python jieba set up as themeshift segments: our political-terms dictionary, the split list
(jieba's del_word), and the same token filters (symbols, numbers, stopwords)."""
import pathlib

import jieba

DATA = pathlib.Path(__file__).resolve().parents[2] / "data"
NUMBER = set("0123456789.,%+-‰〇零一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟")


def entries(path):
    for line in open(path, encoding="utf-8"):
        line = line.strip().lstrip("\ufeff")
        if line and not line.startswith("#"):
            yield line


def setup():
    """Load our dictionaries into jieba; returns the token filter."""
    jieba.setLogLevel(60)
    jieba.initialize()
    for line in entries(DATA / "dict/political.txt"):
        parts = line.split()
        jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None)
    for line in entries(DATA / "dict/split.txt"):
        jieba.del_word(line)
    stopwords = set(entries(DATA / "stopwords/zh.txt"))
    return lambda t: any(c.isalnum() for c in t) and not all(c in NUMBER for c in t) and t not in stopwords


def tokens(text, keep):
    return [t for t in jieba.cut(text, HMM=True) if keep(t)]
