#!/usr/bin/env bash
# Regenerates every figure listed in docs/figures/README.md with the exact
# command listed there and compares it with the shipped file: byte for byte
# ("bytes") or by PNG size in pixels ("size", for wall-time figures).
#   .ci/docs-figures.sh           check; exits 1 naming every figure that differs
#   .ci/docs-figures.sh --update  copy the regenerated figures into docs/figures
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
[ "${1:-}" = "--update" ] && update=1
readme=docs/figures/README.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lodsim" ./cmd/lodsim

# Rows of the table between the markers: | file | `command` | `made as` | check |
rows=$(sed -n '/<!-- figures:/,/<!-- end figures -->/p' "$readme" | grep '^| [^ -]' | grep -v '^| file |' || true)
if [ -z "$rows" ]; then
  echo "docs-figures: no figure rows found in $readme" >&2; exit 1
fi

png_size() { od -An -tu1 -j16 -N8 "$1" | tr -s ' ' | sed 's/^ //'; }

declare -A outdir
n=0; fail=0
while IFS='|' read -r _ file cmd made check _; do
  file=$(echo "$file" | xargs); check=$(echo "$check" | xargs)
  cmd=$(echo "$cmd" | sed 's/^ *`//; s/` *$//')
  made=$(echo "$made" | sed 's/^ *`//; s/` *$//')
  if [ -z "${outdir[$cmd]:-}" ]; then
    n=$((n+1)); out="$tmp/run$n"; mkdir -p "$out"
    real=$(echo "$cmd" | sed "s#^lodsim #$tmp/lodsim #; s#OUT#$out#g")
    echo "== $cmd"
    if ! eval "$real" >"$tmp/run$n.log" 2>&1; then
      echo "docs-figures: command failed: $cmd"; cat "$tmp/run$n.log"; exit 1
    fi
    outdir[$cmd]=$out
  fi
  got="${made/OUT/${outdir[$cmd]}}"
  want="docs/figures/$file"
  if [ ! -f "$got" ]; then
    echo "FAIL $file: the command made no $made"; fail=1; continue
  fi
  if [ $update = 1 ]; then
    cp "$got" "$want"; echo "updated $want"; continue
  fi
  if [ ! -f "$want" ]; then
    echo "FAIL $file: listed but not in docs/figures"; fail=1; continue
  fi
  case "$check" in
    bytes) if cmp -s "$got" "$want"; then echo "ok   $file (identical)"; else echo "FAIL $file: regenerated figure differs from the shipped one"; fail=1; fi ;;
    size) if [ "$(png_size "$got")" = "$(png_size "$want")" ]; then echo "ok   $file (same size; wall time varies)"; else echo "FAIL $file: size $(png_size "$got") differs from $(png_size "$want")"; fail=1; fi ;;
    *) echo "FAIL $file: unknown check '$check' (expected bytes or size)"; fail=1 ;;
  esac
done <<<"$rows"

# Every PNG shipped in docs/figures must be listed.
for f in docs/figures/*.png; do
  grep -q "^| $(basename "$f") |" "$readme" || { echo "FAIL $(basename "$f"): not listed in $readme"; fail=1; }
done
if [ $fail = 1 ]; then
  echo "docs-figures: figures differ; if on purpose, run .ci/docs-figures.sh --update and review"; exit 1
fi
echo "docs-figures: all listed figures regenerate"
