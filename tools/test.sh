#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (created on first use), on as many pytest-xdist
# workers as there are CPU cores (at most 4; TEST_WORKERS=N to choose, 0 for none). A test module stays on
# one worker (--dist loadfile), so its module fixtures are built once.
# Extra arguments go to pytest, e.g. tools/test.sh -k features -x
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/setup_env.sh"
cd "$root"
cores=$(python -c "import os; print(len(os.sched_getaffinity(0)))")
workers=${TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}
[ "$workers" -gt 1 ] || workers=0
exec python -m pytest -q -n "$workers" --dist loadfile "$@"
