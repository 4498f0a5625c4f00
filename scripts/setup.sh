#!/usr/bin/env bash
# Installs what redispebble needs from Debian's packages (only what is missing), then configures and
# builds into ./build. Run by run.sh and test.sh; safe to run on its own.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The second line is for the sanitizer stages of scripts/test.sh: clang 14, its sanitizer runtimes,
# and llvm-symbolizer (reports name file and line).
packages=(cmake g++ ninja-build pkg-config dpkg-dev libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev
          libfmt-dev libssl-dev catch2 redis-server redis-tools openssl prometheus-redis-exporter curl
          clang-14 libclang-rt-14-dev llvm-14)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "redispebble: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

build="${REDISPEBBLE_BUILD_DIR:-$here/build}"
jobs="${REDISPEBBLE_JOBS:-2}"
# A compiler cache, when the machine has one, makes rebuilds cheap; nothing depends on it.
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  # Release, what packagers build (-O3 finds warnings -O2 does not), with -Werror: CI tests both.
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREDISPEBBLE_WERROR=ON "${launcher[@]}" \
        ${REDISPEBBLE_CMAKE_ARGS:-}
fi
cmake --build "$build" -j "$jobs"
