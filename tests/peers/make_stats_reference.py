"""Reference values from the peers, for the statistics unit tests: pymannkendall (Mann–Kendall, Sen's
slope) and scipy (Benjamini–Hochberg). Writes tests/fixtures/stats_reference.json.

usage: make_stats_reference.py   (pip install pymannkendall scipy numpy)
"""
import json
import pathlib

import numpy as np
import pymannkendall as mk
from scipy.stats import false_discovery_control

rng = np.random.default_rng(20261122)
series = []
for n in [5, 8, 11, 15, 24]:
    trend = rng.normal(0, 1) * np.arange(n) / n
    values = np.round(trend + rng.normal(0, 1, n), 1)  # rounding makes ties
    series.append(values.tolist())
series.append([3.0, 3.0, 3.0, 4.0, 4.0, 2.0, 5.0, 5.0, 5.0, 6.0])
mk_cases = []
for x in series:
    r = mk.original_test(x)
    mk_cases.append({"x": x, "s": r.s, "var_s": r.var_s, "z": r.z, "p": r.p, "tau": r.Tau, "sen_slope": r.slope})
bh_cases = []
for m in [4, 10, 50]:
    p = rng.uniform(0, 0.2, m).tolist()
    bh_cases.append({"p": p, "q": false_discovery_control(p, method="bh").tolist()})
out = pathlib.Path(__file__).resolve().parents[1] / "fixtures/stats_reference.json"
out.write_text(json.dumps({"mann_kendall": mk_cases, "bh": bh_cases}, indent=1))
print(f"wrote {out}")
