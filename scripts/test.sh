#!/usr/bin/env bash
# Set up (when needed) and run the whole test suite against the real Docker engine.
#   scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# AIME's published catalog is not part of the repository; when a copy lies beside it, the
# catalog tests check ds01 against it (they are skipped, saying why, when there is none).
if [ -z "${DS01_TEST_AIME_CATALOG:-}" ] && [ -f ../shared/data/aime-ml_images.repo ]; then
  DS01_TEST_AIME_CATALOG="$(cd ../shared/data && pwd)/aime-ml_images.repo"
  export DS01_TEST_AIME_CATALOG
fi
# Lint, format and types first: seconds, and they name the line.
.venv/bin/ruff check --quiet src tests bench dev
.venv/bin/ruff format --check --quiet src tests bench dev
.venv/bin/mypy
set +e
.venv/bin/python -m pytest --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure here." >&2
  exit 1
fi
exit "$rc"
