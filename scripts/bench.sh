#!/usr/bin/env bash
# Prints hrport's speed and memory figures (see benches/import.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench import
