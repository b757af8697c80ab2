#!/usr/bin/env python3
"""Build the installable Blender extension zip: the add-on, its manifest and the backend source.

    python build_addon.py                 # -> dist/propose_blender-<version>.zip
    python build_addon.py --output X.zip

Layout inside the zip (what Blender installs as one extension folder):

    blender_manifest.toml
    __init__.py, operators/, ui/, ...     the propose_blender package
    backend_src/pyproject.toml            the backend's dependency list, for "Set up backend"
    backend_src/propose_backend/...       the backend the add-on launches (PYTHONPATH)

Caches, compiled files and build leftovers are left out. Needs only the standard library.
"""
from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build", "dist"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".swp"}


def _wanted(path: Path, base: Path) -> bool:
    parts = path.relative_to(base).parts  # hidden files and hidden folders (.ipynb_checkpoints, ...) stay out
    return (path.is_file() and path.suffix not in EXCLUDED_SUFFIXES
            and not any(p in EXCLUDED_DIRS or p.endswith(".egg-info") or p.startswith(".") for p in parts))


def _files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if _wanted(p, base))


def contents() -> dict[str, Path]:
    """Archive name -> source file, for everything the extension zip holds."""
    entries = {"blender_manifest.toml": ROOT / "blender_manifest.toml"}
    addon = ROOT / "propose_blender"
    entries.update({p.relative_to(addon).as_posix(): p for p in _files(addon)})
    backend = ROOT / "backend"
    entries["backend_src/pyproject.toml"] = backend / "pyproject.toml"
    package = backend / "propose_backend"
    entries.update({f"backend_src/propose_backend/{p.relative_to(package).as_posix()}": p for p in _files(package)})
    return entries


def build(output: Path | None = None) -> Path:
    with (ROOT / "blender_manifest.toml").open("rb") as handle:
        manifest = tomllib.load(handle)
    output = output or ROOT / "dist" / f"{manifest['id']}-{manifest['version']}.zip"
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in contents().items():
            archive.write(source, name)
    tmp.replace(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="zip to write (default: dist/<id>-<version>.zip)")
    args = parser.parse_args(argv)
    path = build(args.output)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
