#!/usr/bin/env bash
# Idempotent set-up of everything `make run` and `make test` need, from the project's own files.
# Re-running it does only what changed (stamps hold the hash of each requirements file).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
mkdir -p .cache

stamp_ok() { [ -f "$2" ] && [ "$(cat "$2")" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }
stamp_set() { sha256sum "$1" | cut -d' ' -f1 > "$2"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. The dev/test venv (.venv): runtime + test tools.
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
REQ_HASH="$(hash_of requirements.txt functions/requirements.txt)"
if [ "$(cat .cache/venv.stamp 2>/dev/null)" != "$REQ_HASH" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$REQ_HASH" > .cache/venv.stamp
fi

# 2. functions/venv: what the Functions emulator runs the code with (runtime packages only).
if [ ! -x functions/venv/bin/python ]; then "$PY" -m venv functions/venv; fi
if ! stamp_ok functions/requirements.txt .cache/functions-venv.stamp; then
  echo "setup: installing runtime packages into functions/venv"
  functions/venv/bin/pip install --quiet --disable-pip-version-check -r functions/requirements.txt 2> >(grep -v "is ignored: it is neither" >&2)
  stamp_set functions/requirements.txt .cache/functions-venv.stamp
fi

# 3. firebase-tools, pinned in package.json.
if ! stamp_ok package.json .cache/npm.stamp || [ ! -x node_modules/.bin/firebase ]; then
  echo "setup: installing firebase-tools (npm)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  stamp_set package.json .cache/npm.stamp
fi

# 4. Java >= 21 for firebase-tools, the shim jar in front of the installed Firestore emulator jar,
#    and development secrets for the Functions emulator. All in devtools/toolchain.py.
.venv/bin/python -m devtools.toolchain prepare
