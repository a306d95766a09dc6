#!/usr/bin/env bash
# Kills imports with SIGKILL at random moments, resumes them, and counts what
# went wrong: rounds, runs, kills, duplicated and lost rows (all must be 0).
# Each round imports CHAOS_ROWS rows (default 2000) into a sandbox answering
# some requests with 5xx and losing some answers, killing the importer
# CHAOS_KILLS times (default 8). Usage: CHAOS_ROUNDS=20 bash scripts/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test it chaos_rounds -- --ignored --nocapture --test-threads 1
