#!/usr/bin/env bash
# The package as a user gets it: build the sdist and the wheel, install the wheel into a fresh virtual
# environment outside the checkout, and run examples/project's tests against it (a file missing from the
# package fails here); the wheel must carry the C fast path. Then the sdist must install without a C
# compiler (CC=false): the pure-Python parser does the work. Idempotent; run from .ci/run.
#   PYTHON=path/to/python (default .venv/bin/python, which needs `build`: pip install -e '.[test]')
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/stomptest-*.whl)
sdist=$(ls "$work"/dist/stomptest-*.tar.gz)
echo "check-wheel: built $(basename "$sdist") and $(basename "$wheel")"
case "$(basename "$wheel")" in
  *-none-any.whl) echo "check-wheel: the wheel has no C fast path (a pure wheel)"; exit 1 ;;
esac
"$python" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for wanted in ("stomptest/py.typed", "stomptest/protocol/_speedups.pyi"):
    assert wanted in names, f"the wheel lacks {wanted}"
compiled = [n for n in names if n.startswith("stomptest/protocol/_speedups.") and n.endswith((".so", ".pyd"))]
assert compiled, "the wheel lacks the compiled C fast path"
assert not any(n.startswith(("tests/", "examples/")) for n in names), "the wheel carries the tests"
PY
tar -tzf "$sdist" >"$work/sdist.txt"
for required in LICENSE CHANGELOG.md README.md stomptest/protocol/_speedups.c stomptest/py.typed; do
  grep -q "/$required\$" "$work/sdist.txt" || { echo "check-wheel: the sdist lacks $required"; exit 1; }
done

# The user's side: a fresh environment, the project copied out of the checkout, nothing of it on sys.path.
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"
cp -r examples/project "$work/project"
(
  cd "$work/project"
  "$work/venv/bin/python" - <<'PY'
import importlib.metadata, pathlib, stomptest
assert stomptest.__version__ == importlib.metadata.version("stomptest"), "two versions"
assert "site-packages" in pathlib.Path(stomptest.__file__).parts, stomptest.__file__
PY
  "$work/venv/bin/stomptest" --version
  "$work/venv/bin/python" -m stomptest --version >/dev/null
  "$work/venv/bin/stomptest" conformance --timeout 0 2>/dev/null && { echo "check-wheel: bad input accepted"; exit 1; }
  "$work/venv/bin/python" -m pytest -q -p no:xdist
)

# The sdist without a compiler: installs, and parses with the pure-Python parser (dependencies are the wheel's).
CC=false "$work/venv/bin/pip" install -q --force-reinstall --no-deps "$sdist" >"$work/sdist.log" 2>&1 \
  || { cat "$work/sdist.log"; exit 1; }
(
  cd "$work"
  "$work/venv/bin/python" - <<'PY'
import importlib.util
from stomptest.protocol import Parser
assert importlib.util.find_spec("stomptest.protocol._speedups") is None, "a C extension was built with CC=false"
assert Parser().feed(b"SEND\ndestination:/queue/a\n\nhi\0")[0].body == b"hi"
PY
)
echo "check-wheel: the wheel passes the example project; the sdist installs without a compiler"
