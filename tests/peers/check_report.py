"""report.html and the SVG charts in a real browser (headless Chromium).

For each run folder: report.html opens with no script error, every section is present and
non-empty, hovering the theme chart shows a period with shares and intervals, and the file is at
most 5 MB; each charts/*.svg is well-formed XML whose Chinese labels are text Chromium renders.
A screenshot of each report is written beside it (report.png) for a person to look at.

    python tests/peers/check_report.py RUN_DIR [RUN_DIR ...]
"""
import html
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
SECTIONS = ["overview", "periods", "themes", "terms", "keyness", "clusters", "topics", "coherence", "tables"]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def browse(url, *extra):
    done = subprocess.run(CHROMIUM + list(extra) + [url], capture_output=True, text=True, timeout=120)
    console = [l for l in done.stderr.splitlines() if "CONSOLE" in l and ("Error" in l or "Uncaught" in l)]
    return done.stdout, console


checked = 0
for run in map(Path, sys.argv[1:]):
    page = run / "report.html"
    size = page.stat().st_size
    check(size <= 5 * 1024 * 1024, f"{page}: {size / 1e6:.1f} MB, more than 5 MB")
    dom, console = browse(f"file://{page.resolve()}#selftest", "--dump-dom")
    check(not console, f"{page}: console errors {console}")
    errors = re.search(r'data-errors="([^"]*)"', dom)
    check(errors is None, f"{page}: script errors {errors and html.unescape(errors.group(1))}")
    found = re.search(r'data-selftest="([^"]*)"', dom)
    if check(found is not None, f"{page}: the self-test did not run"):
        result = json.loads(html.unescape(found.group(1)))
        for name in SECTIONS:
            check(result["sections"].get(name, 0) > 0, f"{page}: section {name} missing or empty")
        hover = result.get("hover", "")
        check(re.search(r"\d{4}", hover) and "%" in hover and "[" in hover and "–" in hover,
              f"{page}: hovering the theme chart shows {hover!r}, not a period with shares and intervals")
        print(f"{page}: {size / 1e6:.2f} MB, sections {result['sections']}, hover: {hover[:90]}…")
    browse(f"file://{page.resolve()}", "--window-size=1280,2600", f"--screenshot={run / 'report.png'}")
    for svg in sorted((run / "charts").glob("*.svg")):
        root = ET.parse(svg).getroot()
        texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
        check(re.search(r"[\u4e00-\u9fff]", texts), f"{svg}: no Chinese text labels")
        dom, console = browse(f"file://{svg.resolve()}", "--dump-dom")
        check("<svg" in dom and not console, f"{svg}: Chromium did not render it ({console})")
        checked += 1
    checked += 1

for f in failures:
    print("FAIL", f)
print(f"report: {checked - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
