#!/usr/bin/env bash
# The main job: install what is missing, build, and run `redispebble` with the given arguments.
# With none, it runs `redispebble plan` on the example inputs in examples/ (a dry run: it prints the
# layer, the redacted flags, the files, the diff against examples/plan.yaml and the decision).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh" >&2
build="${REDISPEBBLE_BUILD_DIR:-$here/build}"
if (($# == 0)); then set -- plan; fi
exec "$build/redispebble" "$@"
