#!/usr/bin/env bash
# Installs the Python peers of tests/python_interop.rs (PyJWT with
# pyca/cryptography, and http-message-signatures for RFC 9421, pinned in
# tests/python/requirements.txt) into a venv
# at target/python-peer, from PyPI, and prints the line that points the
# tests at it:
#   eval "$(scripts/python-peer.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-peer
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r tests/python/requirements.txt >&2
echo "export SIGNED_PAYLOADS_PYTHON=$PWD/$venv/bin/python"
