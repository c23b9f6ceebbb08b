"""Trend acceptance on the real material: history on the China–Russia sub-corpus, the two seeds
(2013 vs 2023), the theme chart, determinism across thread counts, and the cost on the full corpus.

usage: check_trends.py THEMESHIFT_BINARY SHARED_DIR RUSSIA_JSONL FULL_RUN_DIR WORK_DIR
"""
import json
import pathlib
import subprocess
import sys

import polars as pl

binary, shared, russia, full_run, work = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4], pathlib.Path(sys.argv[5])
results = []

def check(name, ok, detail=""):
    results.append(ok)
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")

def run(*args):
    out = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        print(out.stdout, out.stderr)
    return out

print("1. history on the China–Russia sub-corpus (stories mentioning 俄罗斯 or 普京), by year")
for threads in ["1", "2"]:
    run("run", "--input", russia, "--out", work / f"trend{threads}", "--threads", threads, "--quiet")
stats = pl.read_parquet(work / "trend2/term_trend_stats.parquet")
row = lambda t: stats.filter(pl.col("term") == t).row(0, named=True)
events = [
    ("克里米亚", "2014", "Crimea, 2014"),
    ("新冠肺炎", "2020", "COVID-19, 2020"),
    ("乌克兰", "2022", "war in Ukraine, 2022"),
    ("俄军", "2022", "Russian army in the news, 2022"),
]
for term, year, event in events:
    r = row(term)
    check(f"{term}: change point in {year} ({event})", year in r["change_points"], f"change points {r['change_points']}, first {r['first_period']}")
check("一带一路 first seen after its 2013 launch", row("一带一路")["first_period"] in ("2013", "2014", "2015"), row("一带一路")["first_period"])
emerging = json.load(open(work / "trend2/manifest.json"))["trends"]["emerging_terms"]
print(f"     emerging: {' '.join(emerging[:20])}")
print(f"     fading:   {' '.join(json.load(open(work / 'trend2/manifest.json'))['trends']['fading_terms'][:20])}")
check("war vocabulary among the emerging terms", bool({"俄军", "无人机", "导弹", "泽连斯基"} & set(emerging[:30])))
chart = work / "trend2/charts/themes.png"
check("charts/themes.png drawn", chart.exists() and chart.stat().st_size > 20_000, f"{chart.stat().st_size} bytes")
themes = pl.read_parquet(work / "trend2/themes.parquet")
share = lambda t, p: themes.filter((pl.col("theme") == t) & (pl.col("period") == p))["share"][0]
check("geopolitics theme leads from 2022", all(share("geopolitics", "2022") >= share(t, "2022") for t in themes["theme"].unique()))
ci = themes.filter(pl.col("share_low") > pl.col("share") + 1e-12)
check("intervals contain their point estimates", ci.height == 0)

print("2. same seed, any thread count: byte-identical tables")
names = ["documents", "vocabulary", "tfidf", "term_trends", "periods", "term_trend_stats", "keyness", "themes", "evidence"]
same = [n for n in names if (work / f"trend1/{n}.parquet").read_bytes() == (work / f"trend2/{n}.parquet").read_bytes()]
check("threads 1 and 2", len(same) == len(names), f"{len(same)}/{len(names)} identical")

print("3. the two seeds, 2013 against 2023 (the 2023 article's date given by the user)")
seeds = work / "seeds_trend"
seeds.mkdir()
for seed in sorted((shared / "seeds").glob("*.txt")):
    (seeds / seed.name).write_bytes(seed.read_bytes())
later = sorted((shared / "seeds").glob("*.txt"))[1].name
(work / "seed_dates.csv").write_text(f"document,date\n{later},2023-03-21\n")
run("run", "--input", seeds, "--out", work / "seed_trend", "--dates", work / "seed_dates.csv", "--min-df", "1", "--quiet")
out = run("compare", work / "seed_trend", "--a", "2013", "--b", "2023", "--top", "10")
print("     " + "\n     ".join(out.stdout.splitlines()[-11:]))
t = pl.read_parquet(work / "seed_trend/themes.parquet")
s = lambda theme, p: t.filter((pl.col("theme") == theme) & (pl.col("period") == p))["share"][0]
check("energy's share falls", s("energy", "2013") > s("energy", "2023"), f"{s('energy', '2013'):.3f} → {s('energy', '2023'):.3f}")
for theme in ["geopolitics", "multilateral", "finance", "technology"]:
    check(f"{theme}'s share rises", s(theme, "2023") > s(theme, "2013"), f"{s(theme, '2013'):.3f} → {s(theme, '2023'):.3f}")
check("energy significantly over-used in 2013 (theme G² > 3.84)", any(l.strip().startswith("energy") and float(l.split()[-2]) > 3.84 for l in out.stdout.splitlines()))

print("4. cost on the full corpus")
stages = {s["stage"]: s["seconds"] for s in json.load(open(f"{full_run}/manifest.json"))["stages"]}
check("trends stage in seconds", stages["trends"] < 10, f"{stages['trends']:.2f} s of {sum(stages.values()):.2f} s")

failed = results.count(False)
print(f"trends-acceptance: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
