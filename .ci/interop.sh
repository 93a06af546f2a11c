#!/usr/bin/env bash
# Reads lodsim's outputs with independent readers (DuckDB via the npm
# package @duckdb/node-api, Apache Arrow JS) and checks the values against
# lodsim's own summaries. Needs Node >= 20 and npm; installs the pinned
# packages (.ci/interop/package-lock.json) into a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v node >/dev/null && command -v npm >/dev/null || { echo "interop: node and npm are needed" >&2; exit 1; }

echo "== install DuckDB and Arrow JS (npm ci)"
cp .ci/interop/package.json .ci/interop/package-lock.json .ci/interop/interop.mjs "$tmp/"
(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error)

echo "== lodsim outputs"
go build -o "$tmp/lodsim" ./cmd/lodsim
"$tmp/lodsim" compare -c scenario:reference-tp1 --sweep tp=1,2 --out "$tmp/cmp" >/dev/null
"$tmp/lodsim" sweep -c scenario:reference-tp1 --grid tp=1,2 --out "$tmp/sweep" >/dev/null 2>&1
"$tmp/lodsim" trace convert examples/requests.csv "$tmp/trace.parquet" >/dev/null
"$tmp/lodsim" trace convert examples/requests.csv "$tmp/trace.arrow" >/dev/null
"$tmp/lodsim" trace stats examples/requests.csv >"$tmp/trace-stats.txt"

echo "== read them back"
(cd "$tmp" && node interop.mjs "$tmp/cmp" "$tmp/trace.parquet" "$tmp/trace.arrow" "$tmp/trace-stats.txt" "$tmp/sweep")

# The checker must fail when lodsim and the readers disagree: a summary
# whose mean TTFT is off by 1% has to be caught.
echo "== self-test: a wrong summary must fail"
cp -r "$tmp/cmp" "$tmp/bad"
run=$(ls -d "$tmp"/bad/*-medium | head -1)
node -e 'const fs=require("fs"),f=process.argv[1],s=JSON.parse(fs.readFileSync(f));s.ttft_ms.mean*=1.01;fs.writeFileSync(f,JSON.stringify(s))' "$run/summary.json"
if (cd "$tmp" && node interop.mjs "$tmp/bad" "$tmp/trace.parquet" "$tmp/trace.arrow" "$tmp/trace-stats.txt") >"$tmp/bad.log" 2>&1; then
  echo "interop: the checker passed a summary with a wrong mean TTFT" >&2; exit 1
fi
grep -q "mean ttft_ns" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "interop: the self-test failed for another reason" >&2; exit 1; }
# ... and a sweep table whose Parquet and CSV disagree.
cp -r "$tmp/sweep" "$tmp/badsweep"
sed -i '2s/,ok,/,failed,/' "$tmp/badsweep/sweep.csv"
if (cd "$tmp" && node interop.mjs "$tmp/cmp" "$tmp/trace.parquet" "$tmp/trace.arrow" "$tmp/trace-stats.txt" "$tmp/badsweep") >"$tmp/badsweep.log" 2>&1; then
  echo "interop: the checker passed a sweep.csv that disagrees with sweep.parquet" >&2; exit 1
fi
grep -q "status" "$tmp/badsweep.log" || { cat "$tmp/badsweep.log"; echo "interop: the sweep self-test failed for another reason" >&2; exit 1; }
echo "interop: ok"
