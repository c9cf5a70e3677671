#!/usr/bin/env bash
# build-assets.sh builds Traded's front-end assets into web/static/ (committed,
# so that `go build` needs no npm). Run from anywhere: npm run build:assets.
#
# We ship govuk-frontend's CSS and JS but none of its images or fonts: the
# crown and the GDS Transport typeface are reserved for GOV.UK, and Traded is
# a council service.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ ! -d node_modules/govuk-frontend ]]; then
  echo "build-assets: node_modules/govuk-frontend missing; run npm ci first" >&2
  exit 1
fi

out=web/static
mkdir -p "$out"

# --quiet-deps hides govuk-frontend's own deprecation warnings (it still uses
# @import and global built-ins internally); our file uses @use, so nothing of
# ours is silenced.
npx --no-install sass \
  --no-source-map \
  --style=compressed \
  --load-path=node_modules \
  --quiet-deps \
  web/assets/traded.scss "$out/traded.css"

# The map is not shipped, so drop the comment that points at it.
sed -e 's|//# sourceMappingURL=[^ ]*$||' \
  node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js >"$out/govuk-frontend.min.js"

# init.js is loaded by the layout as <script type="module">: only browsers
# that run ES modules run it, which is govuk-frontend's own support test, so
# it can mark the body as supported (no inline script, so no CSP nonce) and
# start every component on the page.
cat >"$out/init.js" <<'JS'
import { initAll } from './govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
JS

cat > "$out/favicon.svg" <<'SVG'
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32"><rect width="32" height="32" fill="#005a30"/><text x="16" y="25" fill="#ffffff" font-family="Arial, Helvetica, sans-serif" font-size="24" font-weight="700" text-anchor="middle">T</text></svg>
SVG

# Guard: nothing reserved for GOV.UK may leak into what we ship.
fail=0
if grep -q "GDS Transport" "$out/traded.css"; then
  echo "build-assets: web/static/traded.css mentions GDS Transport" >&2
  fail=1
fi
if grep -Eq "@font-face" "$out/traded.css"; then
  echo "build-assets: web/static/traded.css contains an @font-face rule" >&2
  fail=1
fi
if grep -Eq "/static/fonts/|light-[0-9a-f]+-v2|bold-[0-9a-f]+-v2" "$out/traded.css"; then
  echo "build-assets: web/static/traded.css references govuk-frontend fonts" >&2
  fail=1
fi
if [[ -e "$out/images" || -e "$out/fonts" || -e "$out/favicon.ico" ]]; then
  echo "build-assets: govuk-frontend images or fonts found in $out; remove them" >&2
  fail=1
fi
if (( fail )); then
  rm -f "$out/traded.css"
  exit 1
fi

echo "build-assets: wrote $out/traded.css ($(wc -c <"$out/traded.css") bytes), $out/govuk-frontend.min.js, $out/init.js, $out/favicon.svg"
