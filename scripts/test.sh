#!/usr/bin/env bash
# Install what is missing, build, and run every test (unit, integration with real redis-server,
# consumer builds). Exit status is CTest's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
build="${REDISPEBBLE_BUILD_DIR:-$here/build}"
cd "$build"
ctest --output-on-failure -j "${REDISPEBBLE_JOBS:-2}" --timeout 900 "$@"
