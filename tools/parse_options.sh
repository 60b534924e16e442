#!/usr/bin/env bash
# Kaldi-style option parsing, sourced by a recipe after it defines its defaults:
#
#   stage=0          # first stage to run
#   nj=2             # parallel jobs
#   . tools/parse_options.sh
#
# `--foo-bar VALUE` (or `--foo-bar=VALUE`) sets the existing variable foo_bar; an option whose
# variable the script does not define is an error. Options may come anywhere: before, between or
# after the positional arguments (Hydra overrides, for us), which are left in "$@" in their order.
# Everything after `--` is positional, options or not (e.g. Hydra's own flags such as --config-dir).
# `--help` prints $help_message (if set) and every `name=value  # comment` default of the script.

_po_usage() {
  local self=$0
  [ -f "$self" ] || self=$(basename "$0")  # recipes cd into their own directory first
  if [ -n "${help_message:-}" ]; then echo -e "$help_message"; fi
  echo "Options (default in brackets):"
  grep -E '^[a-z_][a-z0-9_]*=("[^"]*"|[^ ]*)[[:space:]]+#' "$self" | while IFS= read -r line; do
    name=${line%%=*}; rest=${line#*=}; comment=${rest#*#}
    read -r value <<< "${rest%%#*}"
    printf '  --%-20s %s [%s]\n' "${name//_/-}" "${comment# }" "$value"
  done
}

_po_positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) _po_usage; exit 0 ;;
    --) shift; _po_positional+=("$@"); break ;;
    --*=*) _po_name=${1%%=*}; _po_value=${1#*=}; shift ;;
    --*)
      _po_name=$1
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
      _po_value=$2; shift 2 ;;
    *) _po_positional+=("$1"); shift; continue ;;
  esac
  _po_var=${_po_name#--}; _po_var=${_po_var//-/_}
  if ! [[ "$_po_var" =~ ^[a-z_][a-z0-9_]*$ ]] || [ -z "${!_po_var+x}" ]; then
    echo "$0: unknown option $_po_name (see $0 --help; flags for Hydra itself go after a lone --)" >&2; exit 1
  fi
  # Booleans must stay true/false, as in Kaldi.
  if [ "${!_po_var}" = true ] || [ "${!_po_var}" = false ]; then
    if [ "$_po_value" != true ] && [ "$_po_value" != false ]; then
      echo "$0: option $_po_name expects true or false, got '$_po_value'" >&2; exit 1
    fi
  fi
  printf -v "$_po_var" '%s' "$_po_value"
done
set -- ${_po_positional[@]+"${_po_positional[@]}"}
unset _po_name _po_value _po_var _po_positional
