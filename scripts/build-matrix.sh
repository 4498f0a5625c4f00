#!/usr/bin/env bash
# Builds everything (libraries, CLI, test server program, examples, benchmarks, both test
# executables) once per build type and compiler, with -Werror, each in its own directory, and
# prints one line per combination. Not part of CI (eight full builds): CI builds GCC 12 Release and
# clang 14 under the sanitizers (scripts/test.sh); run this after a change to warnings, flags or
# compilers. docs/testing.md has the last result.
# Usage: scripts/build-matrix.sh [OUT_DIR] (default build-matrix); REDISPEBBLE_MATRIX_TYPES and
# REDISPEBBLE_MATRIX_COMPILERS (space-separated) narrow it, e.g. "Debug MinSizeRel" and "clang++-14".
# Exit status: non-zero when any combination failed to configure or build.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/build-matrix}"
mkdir -p "$out"
types="${REDISPEBBLE_MATRIX_TYPES:-Debug Release RelWithDebInfo MinSizeRel}"
compilers="${REDISPEBBLE_MATRIX_COMPILERS:-g++-12 clang++-14}"
jobs="${REDISPEBBLE_JOBS:-2}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
status=0
results=()
for cxx in $compilers; do
  for type in $types; do
    dir="$out/$cxx-$type"
    start=$(date +%s)
    if cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DCMAKE_CXX_COMPILER="$cxx" \
         -DREDISPEBBLE_WERROR=ON -DREDISPEBBLE_BENCH=ON -DREDISPEBBLE_EXAMPLES=ON "${launcher[@]}" \
         >"$dir.log" 2>&1 &&
       cmake --build "$dir" -j "$jobs" -- -k 0 >>"$dir.log" 2>&1; then
      result=ok
    else
      result="FAILED (see $dir.log)"
      status=1
    fi
    results+=("$(printf '%-10s %-15s %4ds  %s' "$cxx" "$type" $(($(date +%s) - start)) "$result")")
    echo "${results[-1]}" >&2
  done
done
echo "=== build matrix:" >&2
printf '    %s\n' "${results[@]}" >&2
exit "$status"
