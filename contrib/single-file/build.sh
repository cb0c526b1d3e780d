#!/usr/bin/env bash
# Build commentd as one file, two ways, into dist/ (see docs/install.md):
#   dist/commentd      PyInstaller, one-file mode: runs on linux-x86_64 without Python
#   dist/commentd.pyz  a shiv zipapp: runs with the host's python3 (CPython 3.10 to 3.14)
# and the same two under their release names, commentd-<version>-<platform> and
# commentd-<version>.pyz. The tools live in a build venv of their own (build/single-file/venv),
# so the development venv stays clean. Run from anywhere: bash contrib/single-file/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
BUILD=build/single-file
VENV=$BUILD/venv
PYINSTALLER_VERSION=6.22.3
SHIV_VERSION=1.0.8
PSYCOPG2_VERSION=2.9.13
# The CPython versions the pyz carries psycopg2's native module for (nh3's wheel is abi3).
PYZ_PYTHONS="3.10 3.11 3.12 3.13 3.14"
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' commentd/version.py)
PLATFORM=$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)
[[ -n $VERSION ]] || { echo "no __version__ in commentd/version.py" >&2; exit 1; }

started=$SECONDS
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check \
  "pyinstaller==$PYINSTALLER_VERSION" "shiv==$SHIV_VERSION" "psycopg2-binary==$PSYCOPG2_VERSION"

# One wheel of this checkout, used by both builds (a stale install can't slip in).
rm -rf "$BUILD/wheel" && mkdir -p "$BUILD/wheel" dist
"$VENV/bin/pip" wheel -q --disable-pip-version-check --no-deps -w "$BUILD/wheel" .
wheel=$(ls "$BUILD"/wheel/commentd-*.whl)
"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall "$wheel"

echo "== dist/commentd (PyInstaller one-file, $PLATFORM)"
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist \
  --workpath "$BUILD/pyinstaller" contrib/single-file/commentd.spec
cp dist/commentd "dist/commentd-$VERSION-$PLATFORM"

echo "== dist/commentd.pyz (shiv, psycopg2 for CPython $PYZ_PYTHONS)"
site=$BUILD/pyz-site
rm -rf "$site" && mkdir -p "$site"
for python in $PYZ_PYTHONS; do
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --target "$BUILD/psycopg2-$python" --upgrade --implementation cp --python-version "$python" \
    --platform "manylinux2014_$(uname -m)" "psycopg2-binary==$PSYCOPG2_VERSION"
  # Each version's _psycopg.cpython-3XX-*.so and its libraries have names of their own.
  cp -r "$BUILD/psycopg2-$python/." "$site/"
done
"$VENV/bin/shiv" -q -c commentd -o dist/commentd.pyz --reproducible --compressed \
  -p '/usr/bin/env python3' --site-packages "$site" --disable-pip-version-check "$wheel"
cp dist/commentd.pyz "dist/commentd-$VERSION.pyz"

ls -l dist/commentd "dist/commentd-$VERSION-$PLATFORM" dist/commentd.pyz "dist/commentd-$VERSION.pyz"
echo "built in $((SECONDS - started)) s"
