#!/usr/bin/env bash
# Shared by every recipe: environment, logging, stage bookkeeping. Source it from a recipe's run.sh.

TOOLKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TOOLKIT_ROOT
. "$TOOLKIT_ROOT/tools/setup_env.sh"
export PYTHONUNBUFFERED=1

# log MESSAGE: timestamped line naming the script and line it came from.
log() {
  local where="${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}"
  echo -e "$(date '+%Y-%m-%d %H:%M:%S') ($where) $*" >&2
}

# in_stages N: true when stage N lies in [stage, stop_stage] (the recipe defines both).
in_stages() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

# stage_begin N "what": log the start of stage N; stage_end logs its wall time.
stage_begin() { _stage_no=$1; _stage_start=$SECONDS; log "Stage $1: $2"; }
stage_end() { log "Stage $_stage_no done in $((SECONDS - _stage_start)) s"; }
