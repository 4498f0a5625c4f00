#!/usr/bin/env bash
# Install what is missing, build, and run every test (unit, integration with real redis-server,
# consumer builds, the fuzz corpora), then the sanitizer runs (docs/testing.md):
#   1. the whole suite built with clang 14 under AddressSanitizer + UndefinedBehaviorSanitizer
#      (halt on the first report), in $REDISPEBBLE_ASAN_BUILD_DIR (default build-asan);
#   2. the test files whose tests run threads (test server, client against it, controller, exec,
#      checks, the process reaper, the async client) under ThreadSanitizer, in
#      $REDISPEBBLE_TSAN_BUILD_DIR (default build-tsan).
# Stages 1 and 2 run only with REDISPEBBLE_SANITIZERS=1: they have not yet been seen green within CI's
# 90 minutes on 2 cores, so CI (REDISPEBBLE_SANITIZERS unset) runs the suite alone for now.
# Arguments go to the plain run's CTest.
# Exit status: non-zero when any stage fails (all stages run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
build="${REDISPEBBLE_BUILD_DIR:-$here/build}"
jobs="${REDISPEBBLE_JOBS:-2}"
status=0
stage() { echo "=== redispebble: $* ($(date -u +%H:%M:%S))" >&2; }

stage "test suite"
(cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 900 "$@") || status=1

[ "${REDISPEBBLE_SANITIZERS:-0}" = 0 ] && exit "$status"

# clang 14 and its sanitizer runtimes (Debian packages), when missing.
for p in clang-14 libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev
    break
  fi
done

# Builds only what the sanitizer runs need (the given targets and what they depend on: the CLI and
# the controller example the integration tests run): no benchmarks, no other examples, no consumer
# builds. -O1 with line tables only: the sanitizers' cost, not the optimiser's, and stack traces
# that still name file and line.
sanitizer_build() {  # dir sanitize-list test-file-regex targets...
  local dir="$1" list="$2" files="$3"
  shift 3
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
          "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
          "${launcher[@]}" -DREDISPEBBLE_SANITIZE="$list" -DREDISPEBBLE_BENCH=OFF -DREDISPEBBLE_INSTALL=OFF \
          -DREDISPEBBLE_SKIP_CONSUMER=ON "-DREDISPEBBLE_TEST_FILTER=$files" ${REDISPEBBLE_CMAKE_ARGS:-}
  fi
  local t=()
  for target in "$@"; do t+=(--target "$target"); done
  cmake --build "$dir" -j "$jobs" "${t[@]}"
}

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

asan="${REDISPEBBLE_ASAN_BUILD_DIR:-$here/build-asan}"
stage "AddressSanitizer + UndefinedBehaviorSanitizer build"
if sanitizer_build "$asan" address,undefined "" redispebble_unit_tests redispebble_integration_tests \
     redispebble_fuzz_replay; then
  stage "AddressSanitizer + UndefinedBehaviorSanitizer: whole suite"
  (cd "$asan" && ctest --output-on-failure -j "$jobs" --timeout 1800) || status=1
else
  status=1
fi

tsan="${REDISPEBBLE_TSAN_BUILD_DIR:-$here/build-tsan}"
stage "ThreadSanitizer build"
# Only the test files whose tests run threads: the test server (its own thread per server, checks,
# exec), the client against it, the controller, the child process reaper, the async client.
tsan_files='^test_(testing_server|client_against_server|controller|exec|checks|process|pebble_client)\.cpp$'
if sanitizer_build "$tsan" thread "$tsan_files" redispebble_unit_tests redispebble_integration_tests; then
  stage "ThreadSanitizer: multi-threaded tests"
  (cd "$tsan" && ctest --output-on-failure -j "$jobs" --timeout 1800 -LE fuzz) || status=1
else
  status=1
fi
stage "done (status $status)"
exit "$status"
