"""The benchmark corpora, written as one JSONL file: the whole xwlb corpus, or its China–Russia subset (stories
mentioning 俄罗斯 or 普京, the same rule as tests/peers/subset.py)."""
import pathlib


def write_corpus(xwlb, path, corpus):
    """Write `corpus` ("full" or "russia") of the xwlb folder to `path`; returns `path`."""
    path = pathlib.Path(path)
    with open(path, "w", encoding="utf-8") as out:
        for f in sorted(pathlib.Path(xwlb).glob("*.jsonl")):
            for line in open(f, encoding="utf-8"):
                if corpus == "full" or "俄罗斯" in line or "普京" in line:
                    out.write(line)
    return path
