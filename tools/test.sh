#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (created on first use).
# Extra arguments go to pytest, e.g. tools/test.sh -k features -x
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/setup_env.sh"
cd "$root"
exec python -m pytest -q "$@"
