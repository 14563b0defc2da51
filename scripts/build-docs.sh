#!/usr/bin/env bash
# The docs site: docs/*.md plus the API reference from the docstrings (mkdocs + mkdocstrings), built with
# warnings as errors, so a broken link, a missing anchor or an API name that does not resolve fails.
# Idempotent; run from .ci/run. Output in site/ (not committed).
#   PYTHON=path/to/python (default .venv/bin/python; pyproject's docs extra is installed into its environment)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
# the docs extra of pyproject.toml, without reinstalling stomptest itself (mkdocstrings reads the checkout)
mapfile -t requirements < <("$python" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["docs"], sep="\n")')
"$python" -m pip install -q "${requirements[@]}"
"$python" -m mkdocs build --strict --quiet
echo "build-docs: built site/ with no warnings"
