#!/usr/bin/env bash
# Installs the benchmarks' Python baselines (pandas, python-calamine) into
# .venv-bench/ (ignored by git), from the pinned scripts/bench-requirements.txt.
# Kept apart from the tests' .venv so the tests never need pandas. Needs
# python3 with venv; reaches only PyPI. Does nothing when already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sha256sum scripts/bench-requirements.txt | cut -d' ' -f1)
if [ -x .venv-bench/bin/python ] && [ "$(cat .venv-bench/.requirements 2>/dev/null)" = "$want" ]; then
  exit 0
fi
rm -rf .venv-bench
python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --disable-pip-version-check -r scripts/bench-requirements.txt
echo "$want" > .venv-bench/.requirements
echo "installed pandas and python-calamine into .venv-bench"
