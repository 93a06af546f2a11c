#!/usr/bin/env bash
# Renders the HTML report of the embedded default in headless Chromium and
# fails on any console error, uncaught exception, broken image or request
# leaving the page. Installs Chromium from Debian when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
browser_pid=
cleanup() { [ -n "$browser_pid" ] && kill "$browser_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
  echo "== installing Chromium (apt-get)"
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  chrome=$(command -v chromium)
fi
echo "== $("$chrome" --version 2>/dev/null)"

echo "== report of the embedded default"
go build -o "$tmp/lodsim" ./cmd/lodsim
"$tmp/lodsim" compare --out "$tmp/cmp" >/dev/null
"$tmp/lodsim" report --in "$tmp/cmp" --out "$tmp/report.html" >/dev/null

profile=$(mktemp -d -p "$tmp")
"$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --remote-debugging-port=0 about:blank >"$tmp/chrome.log" 2>&1 &
browser_pid=$!
for _ in $(seq 1 100); do [ -s "$profile/DevToolsActivePort" ] && break; sleep 0.2; done
[ -s "$profile/DevToolsActivePort" ] || { cat "$tmp/chrome.log"; echo "report-chromium: Chromium did not start" >&2; exit 1; }
port=$(head -1 "$profile/DevToolsActivePort")

check() { node --experimental-websocket --no-warnings .ci/report/check-page.mjs "$port" "$1"; }
check "$tmp/report.html"

# The checker must catch what it guards: a page with a console error, an
# uncaught exception and a broken image fails.
echo "== self-test: a broken page must fail"
cat >"$tmp/bad.html" <<'HTML'
<!doctype html><title>bad</title><table><tr><td>x</td></tr></table>
<img alt="broken" src="data:image/png;base64,AAAA"><script>console.error("boom"); undefinedFunction();</script>
HTML
if check "$tmp/bad.html" >"$tmp/bad.log" 2>&1; then
  echo "report-chromium: the checker passed a broken page" >&2; exit 1
fi
for want in "console.error: boom" "uncaught exception" "image does not decode: broken"; do
  grep -q "$want" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "report-chromium: self-test missed \"$want\"" >&2; exit 1; }
done
echo "report-chromium: ok"
