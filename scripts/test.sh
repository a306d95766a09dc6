#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this).
# Needs cargo and python3 (with venv); every test starts its own servers on
# 127.0.0.1 port 0 and nothing reaches outside hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
# The SCIM tests run against third-party tools installed here (.venv).
bash scripts/setup-python.sh
cargo fmt --all -- --check
# Lints are errors: a warning left today hides the one that matters tomorrow.
cargo clippy --locked --workspace --all-targets -- -D warnings
# Benchmarks and examples are not run here, but they must keep compiling.
cargo build --locked --benches --examples
cargo test --locked
