#!/usr/bin/env bash
# Installs the Debian packages Parley needs to build and test, only those missing.
# Called by `make deps` (and so by `make run` / `make test`) and by .ci/run.
# Usage: scripts/install-deps.sh [build|test]   (default: test, which includes build)
set -euo pipefail

build_pkgs=(gcc make pkg-config libevent-dev libsqlite3-dev libjansson-dev
            libcurl4-openssl-dev libmd4c-dev libmd4c-html0-dev libargon2-dev libssl-dev libpng-dev
            libpq-dev libhiredis-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev chromium nodejs npm sqlite3
           postgresql redis-server haproxy)

want=("${build_pkgs[@]}")
[ "${1:-test}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from elsewhere than Debian; a working command is enough.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm)    command -v npm  >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
