#!/usr/bin/env bash
# Installs the third-party SCIM tools the tests need (scim2-server, scim2-cli)
# into .venv/ (ignored by git), from the pinned scripts/python-requirements.txt.
# Needs python3 with venv; reaches only PyPI. Safe to run again: it does
# nothing when the tools are already installed at the pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sha256sum scripts/python-requirements.txt | cut -d' ' -f1)
if [ -x .venv/bin/scim2-server ] && [ -x .venv/bin/scim2 ] && [ "$(cat .venv/.requirements 2>/dev/null)" = "$want" ]; then
  exit 0
fi
rm -rf .venv
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/python-requirements.txt
echo "$want" > .venv/.requirements
echo "installed scim2-server and scim2-cli into .venv"
