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

# check_stages [LAST]: exit with one line unless --stage and --stop-stage are whole numbers, the first
# not after the last and (given the recipe's LAST stage) not past it, so that a typo never runs nothing.
check_stages() {
  local n range=
  [ -n "${1:-}" ] && range=" (the stages of $0 are 0-$1)"
  for n in stage stop_stage; do
    [[ ${!n} =~ ^[0-9]+$ ]] || { log "error: --${n/_/-} ${!n}: not a stage number$range"; exit 1; }
  done
  if [ -n "${1:-}" ] && [ "$stage" -gt "$1" ]; then
    log "error: --stage $stage: the stages of $0 are 0-$1"; exit 1
  fi
  if [ "$stage" -gt "$stop_stage" ]; then
    log "error: --stage $stage comes after --stop-stage $stop_stage: nothing would run"; exit 1
  fi
}

# check_work_dir: exit with one line unless the current dir (where corpus/ data/ dump/ exp/ go) is writable.
check_work_dir() {
  local probe
  if ! probe=$(mktemp -p . .write-test.XXXXXX 2>/dev/null); then
    log "error: the work dir $(pwd) is not writable: run the recipe from a dir you can write to (it creates corpus/ data/ dump/ exp/ there)"
    exit 1
  fi
  rm -f "$probe"
}

# stage_begin N "what": log the start of stage N; stage_end logs its wall time.
stage_begin() { _stage_no=$1; _stage_start=$SECONDS; log "Stage $1: $2"; }
stage_end() { log "Stage $_stage_no done in $((SECONDS - _stage_start)) s"; }
