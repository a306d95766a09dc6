#!/usr/bin/env bash
# Prints hrport's speed and memory figures (see benches/import.rs), with the
# Python baselines (pandas, python-calamine) installed first into .venv-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-bench-python.sh
exec cargo bench --bench import -- "$@"
