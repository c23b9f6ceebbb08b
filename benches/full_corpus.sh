#!/usr/bin/env bash
# Wall time and peak memory of a full run on the xwlb corpus, per stage (from manifest.json) and in
# all (from /usr/bin/time). usage: benches/full_corpus.sh [THREADS]   (needs ../shared/corpus/xwlb)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/themeshift-target}
cargo build --release --bin themeshift -q
out=$(mktemp -d)
/usr/bin/time -v "$CARGO_TARGET_DIR/release/themeshift" run --input ../shared/corpus/xwlb --out "$out" --threads "${1:-2}" --quiet \
  2> "$out/time.txt" > "$out/summary.txt"
cat "$out/summary.txt"
grep -E "Elapsed|Maximum resident|User time|System time" "$out/time.txt"
python3 -c "
import json,sys
m=json.load(open('$out/manifest.json'))
for s in m['stages']: print(f\"{s['stage']:<10} {s['seconds']:7.2f} s  peak RSS so far {s['peak_rss_mib']:6.0f} MiB\")
"
rm -rf "$out"
