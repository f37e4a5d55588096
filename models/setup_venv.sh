#!/usr/bin/env bash
# Creates (or reuses) the model-training venv outside the checkout, so CI's
# fresh clones share it: ${XDG_CACHE_HOME:-$HOME/.cache}/tributary/venv-models.
# Idempotent: reinstalls only when models/requirements.txt changed.
# Prints the venv's python path on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${TRIBUTARY_MODELS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/venv-models}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	echo "$venv/bin/python"
	exit 0
fi
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
	{ echo "setup_venv: need Python >= 3.10 (set PYTHON=...)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" >"$stamp"
echo "$venv/bin/python"
