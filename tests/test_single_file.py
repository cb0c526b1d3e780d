"""contrib/single-file: the one-file builds carry every data file the package reads.

The builds themselves (PyInstaller, shiv) run in .ci/run with contrib/single-file/smoke.sh;
these checks are the cheap part: both builds take the package's data files from a wheel of
this checkout, so what setup.py's package_data lists is what they carry.
"""

from __future__ import annotations

import ast
from pathlib import Path

import commentd
from commentd.web import admin, links, pages

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(commentd.__file__).resolve().parent
SINGLE_FILE = ROOT / "contrib" / "single-file"


def package_data_globs() -> list[str]:
    """setup.py's package_data["commentd"], read without running setup.py."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "package_data":
            return ast.literal_eval(node.value)["commentd"]
    raise AssertionError("setup.py has no package_data")


def data_files() -> set[str]:
    """Every file in commentd/ that is not Python source or a cache."""
    return {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }


def test_package_data_lists_every_data_file_so_the_single_files_carry_it():
    shipped = {
        path.relative_to(PACKAGE).as_posix()
        for pattern in package_data_globs()
        for path in PACKAGE.glob(pattern)
        if path.is_file()
    }
    assert data_files() - shipped == set(), "add the new files to package_data in setup.py"
    assert {"openapi.json", "static/demo.html", "templates/admin/base.tpl"} <= shipped


def test_the_spec_collects_the_package_data_and_every_module():
    spec = (SINGLE_FILE / "commentd.spec").read_text(encoding="utf-8")
    assert 'collect_data_files("commentd")' in spec
    # the migrations are found by pkgutil.iter_modules and imported by name
    assert 'collect_submodules("commentd")' in spec
    assert 'collect_submodules("psycopg2")' in spec


def test_the_code_finds_its_data_next_to_its_modules():
    """In the PyInstaller bundle, modules and datas both live under sys._MEIPASS/commentd."""
    for folder in (
        pages.STATIC_DIR,
        pages.EMBED_DIR,
        admin.TEMPLATES,
        admin.STATIC,
        links.TEMPLATES,
    ):
        assert folder.is_dir(), folder
        assert folder.is_relative_to(PACKAGE), folder


def test_the_smoke_test_and_ci_use_the_build_script():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash contrib/single-file/build.sh" in ci
    assert "bash contrib/single-file/smoke.sh dist/commentd\n" in ci
    assert 'smoke.sh "$host_python" dist/commentd.pyz' in ci
