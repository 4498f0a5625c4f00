#!/usr/bin/env bash
# What CI runs (.ci/run), in stages (docs/testing.md has each stage's measured time):
#   1. setup.sh: install what is missing (one apt-get update), build everything with GCC 12
#      (Release, -Werror, the benchmarks too) into $REDISPEBBLE_BUILD_DIR (default build);
#   2. the whole suite (unit, integration with real redis-server, consumer builds, the fuzz corpora);
#   3. clang 14 builds everything (library, CLI, test server program, examples, benchmarks, both test
#      executables, the fuzz corpus replay) under AddressSanitizer + UndefinedBehaviorSanitizer
#      (halt on the first report) in $REDISPEBBLE_ASAN_BUILD_DIR (default build-asan);
#   4. the whole suite but the consumer builds, under ASan + UBSan;
#   5. clang 14 builds the test files whose tests run threads under ThreadSanitizer, in
#      $REDISPEBBLE_TSAN_BUILD_DIR (default build-tsan);
#   6. those tests under TSan.
# All six run by default (CI too): a cold run of all six took 64 minutes on the 2-core machine while
# other builds loaded it (docs/testing.md). REDISPEBBLE_SANITIZERS=0 runs stages 1 and 2 only, for
# a quick local check.
# Arguments go to the CTest of stage 2.
# Exit status: non-zero when any stage fails (every stage runs; a failed build skips its tests).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${REDISPEBBLE_BUILD_DIR:-$here/build}"
jobs="${REDISPEBBLE_JOBS:-2}"
status=0
summary=()
stage_name="" stage_start=0 stage_cpu=0
times_file="$(mktemp)"
trap 'rm -f "$times_file" "$times_file.cpu"' EXIT
children_cpu() {  # CPU seconds (user + system) of this shell's finished children so far
  times >"$times_file"  # not in a pipe or $(...): a subshell would report its own children
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
                 printf "%d\n", t }' "$times_file"
}
stage_end() {  # result
  [ -n "$stage_name" ] || return 0
  children_cpu >"$times_file.cpu"
  local s=$(($(date +%s) - stage_start)) c=$(($(<"$times_file.cpu") - stage_cpu))
  summary+=("$(printf '%-52s wall %3dm%02ds  CPU %3dm%02ds  %s' "$stage_name" $((s / 60)) $((s % 60)) \
               $((c / 60)) $((c % 60)) "$1")")
  stage_name=""
}
stage() {  # name
  children_cpu >"$times_file.cpu"
  stage_name="$*" stage_start=$(date +%s) stage_cpu=$(<"$times_file.cpu")
  echo "=== redispebble: $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
}
run_stage() {  # name command...: runs the command as a stage; returns its status
  local name="$1"
  shift
  stage "$name"
  if "$@"; then stage_end ok; return 0; fi
  stage_end FAILED
  status=1
  return 1
}
finish() {
  echo "=== redispebble: stages (on $(nproc) cores; CPU is user + system time of the stage's processes)" >&2
  for line in "${summary[@]}"; do echo "    $line" >&2; done
  echo "=== redispebble: done (status $status)" >&2
  exit "$status"
}

# The benchmarks too: both compilers build everything (setup.sh alone, for run.sh, leaves them out).
run_stage "GCC 12 Release build (setup.sh)" \
  env REDISPEBBLE_CMAKE_ARGS="-DREDISPEBBLE_BENCH=ON ${REDISPEBBLE_CMAKE_ARGS:-}" "$here/scripts/setup.sh" || finish
run_stage "GCC 12: whole suite" \
  bash -c 'cd "$1" && shift && ctest --output-on-failure -j "$0" --timeout 900 "$@"' "$jobs" "$build" "$@" || true

[ "${REDISPEBBLE_SANITIZERS:-1}" = 0 ] && finish

# Builds with clang 14 and a sanitizer (setup.sh installed clang-14, libclang-rt-14-dev, llvm-14).
# -O1 with line tables only: the sanitizers' cost, not the optimiser's, and stack traces that still
# name file and line. No consumer builds (they test the plain compiler's package).
sanitizer_build() {  # dir sanitize-list test-file-regex targets(space-separated; empty: all) cmake-args...
  local dir="$1" list="$2" files="$3" targets="$4"
  shift 4
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
          "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" -DREDISPEBBLE_WERROR=ON \
          "${launcher[@]}" -DREDISPEBBLE_SANITIZE="$list" -DREDISPEBBLE_INSTALL=OFF \
          -DREDISPEBBLE_SKIP_CONSUMER=ON "-DREDISPEBBLE_TEST_FILTER=$files" "$@" ${REDISPEBBLE_CMAKE_ARGS:-}
  fi
  local t=()
  for target in $targets; do t+=(--target "$target"); done
  cmake --build "$dir" -j "$jobs" "${t[@]}"
}
sanitizer_tests() {  # dir ctest-args...
  local dir="$1"
  shift
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 1800 "$@")
}

symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
if [ -x "$symbolizer" ]; then
  export ASAN_SYMBOLIZER_PATH="$symbolizer" UBSAN_SYMBOLIZER_PATH="$symbolizer" TSAN_SYMBOLIZER_PATH="$symbolizer"
fi
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$here/scripts/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

asan="${REDISPEBBLE_ASAN_BUILD_DIR:-$here/build-asan}"
if run_stage "clang 14 ASan+UBSan build: everything" \
     sanitizer_build "$asan" address,undefined "" "" -DREDISPEBBLE_BENCH=ON -DREDISPEBBLE_EXAMPLES=ON; then
  run_stage "clang 14 ASan+UBSan: whole suite" sanitizer_tests "$asan" || true
fi

# Only the test files whose tests run threads: the child process reaper (unit test_process), the
# client against the in-process replay server (test_pebble_client, test_pebble_transcripts), and
# every integration file that runs the test server in the process (a thread per server, its checks
# and exec) with the client, the reconciler or the controller against it.
tsan="${REDISPEBBLE_TSAN_BUILD_DIR:-$here/build-tsan}"
tsan_files='^test_(process|pebble_client|pebble_transcripts|testing_server|client_against_server|client_lane|controller|exec|checks|reconciler|reconcile_faults|reconcile_e2e|companions)\.cpp$'
if run_stage "clang 14 TSan build: the multi-threaded test files" \
     sanitizer_build "$tsan" thread "$tsan_files" \
       "redispebble_unit_tests redispebble_integration_tests" -DREDISPEBBLE_BENCH=OFF; then
  run_stage "clang 14 TSan: multi-threaded tests" sanitizer_tests "$tsan" -LE fuzz || true
fi
finish
