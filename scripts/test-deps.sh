#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (run as root):
# Debian packages, the npm packages of package-lock.json, and Go tools.
# Each step is skipped when what it installs is already there, so a second
# run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: chromium for the browser tests, poppler-utils and qpdf to
# read back PDFs, python3-icalendar as a second iCalendar parser,
# python3-aiosmtpd as a real SMTP server, wrk for make bench; GNU FriBidi
# (libfribidi-bin) as a second bidirectional algorithm and python3-pdfminer
# to read a PDF's characters in the order they are drawn, for right-to-left
# names in PDFs.
debs=(chromium poppler-utils qpdf python3-icalendar python3-aiosmtpd wrk libfribidi-bin python3-pdfminer)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "test-deps: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages (playwright-core, axe-core, the asset build), exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Go tools: stripe-mock, a local fake of Stripe's API for the card tests.
gobin="$(go env GOPATH)/bin"
if [ ! -x "$gobin/stripe-mock" ]; then
  echo "test-deps: go install stripe-mock"
  go install github.com/stripe/stripe-mock@v0.203.0
fi

echo "test-deps: ready"
