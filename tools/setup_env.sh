#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install the toolkit into it.
# Idempotent: it reinstalls only when pyproject.toml or tools/constraints.txt (the exact tested versions,
# torch 2.14.1 among them) changed since the last successful install.
# Usage: tools/setup_env.sh            (prints nothing when the environment is already current)
#        . tools/setup_env.sh          (also activates it in the calling shell)
set -euo pipefail
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_venv=${TOOLKIT_VENV:-$_root/.venv}
_python=${PYTHON:-$(command -v python3.11 || command -v python3)}
_stamp=$_venv/.installed-$(cat "$_root/pyproject.toml" "$_root/tools/constraints.txt" | sha1sum | cut -c1-16)

if [ ! -f "$_stamp" ]; then
  echo "setup_env: installing the toolkit into $_venv (first run takes about two minutes)" >&2
  [ -x "$_venv/bin/python" ] || "$_python" -m venv "$_venv"
  "$_venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$_root/tools/constraints.txt" \
    -e "$_root[test]" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  "$_venv/bin/python" -c "import toolkit, torch, torchaudio" \
    || { echo "setup_env: installation into $_venv failed" >&2; exit 1; }
  rm -f "$_venv"/.installed-*
  touch "$_stamp"
fi
export PATH="$_venv/bin:$PATH" VIRTUAL_ENV="$_venv"
