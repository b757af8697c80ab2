"""The shape of the code: no import circles, modules of one concept (<= 400 lines), light entry points."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"propose_backend": ROOT / "backend" / "propose_backend", "propose_blender": ROOT / "propose_blender"}
MAX_LINES = 400
# Waiting for branches still in flight (their files are theirs until merged); each entry must stay true.
KNOWN_CIRCLES: list[list[str]] = []
KNOWN_LARGE: set[str] = set()


def _modules(package: str) -> dict[str, Path]:
    folder = PACKAGES[package]
    found = {}
    for path in folder.rglob("*.py"):
        parts = path.relative_to(folder.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's own modules that `name` imports anywhere in its body (functions included:
    a circle closed inside a function is still a circle between the two concepts)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        # `from . import x` names module x; `from .m import y` names module m
        found.update(t for t in targets if t in known and t != name)
    return found


def _circles(package: str) -> list[list[str]]:
    modules = _modules(package)
    graph = {name: _imported(name, path, set(modules)) for name, path in modules.items()}
    for name in graph:  # a package's __init__ importing its own submodules is no circle
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    return _find_circles(graph)


def _find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle a depth-first walk of `graph` (name -> the names it imports) closes."""
    circles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                circles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return circles


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_circles(package: str) -> None:
    assert _circles(package) == [c for c in KNOWN_CIRCLES if c[0].startswith(package + ".")]


def test_the_circle_check_finds_a_circle(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "circular"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "a.py").write_text("from . import b\n")
    (folder / "b.py").write_text("def f():\n    from .a import g\n")
    monkeypatch.setitem(PACKAGES, "circular", folder)
    assert _circles("circular") == [["circular.a", "circular.b", "circular.a"]]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_modules_stay_small(package: str) -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules(package).items()}
    assert {name for name, n in sizes.items() if n > MAX_LINES} == {m for m in KNOWN_LARGE if m.startswith(package + ".")}


_HEAVY = ("torch", "cv2", "mediapipe", "smplx")


def _loaded_after(code: str) -> set[str]:
    """The heavy libraries a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {_HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_cli_help_imports_no_heavy_library() -> None:
    code = ("import contextlib, io\nfrom propose_backend import cli\n"
            "for argv in (['--help'], ['estimate', '--help'], ['serve', '--help']):\n"
            "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "        cli.main(argv)")
    assert _loaded_after(code) == set()
    assert _loaded_after("import torch") == {"torch"}  # the probe does see an import


def test_serve_starts_without_the_pipeline() -> None:
    """The service says `ready` (its device list needs torch) before OpenCV or MediaPipe load;
    they come with the first job."""
    code = ("import io\nfrom propose_backend.serve import Service\nout = io.StringIO()\n"
            "assert Service(out).serve([]) == 0 and '\"ready\"' in out.getvalue()")
    assert _loaded_after(code) == {"torch"}


# --- packages, not only modules, form no circle ------------------------------------------------

def _package_circles(package: str) -> list[list[str]]:
    """Circles between the package's first-level parts (a subpackage or a top-level module): e.g.
    inference -> instant -> inference, even when no two modules import each other."""
    modules = _modules(package)
    part = lambda name: ".".join(name.split(".")[:2])  # noqa: E731
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == package:
            continue
        targets = {part(t) for t in _imported(name, path, set(modules)) if t != package}
        graph.setdefault(part(name), set()).update(targets - {part(name)})
    return _find_circles(graph)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_circles_between_packages(package: str) -> None:
    assert _package_circles(package) == []


def test_the_package_circle_check_finds_one(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "layered"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "a" / "one.py").write_text("from ..b import two\n")
    (folder / "b" / "two.py").write_text("def f():\n    from ..a import three\n")
    (folder / "a" / "three.py").write_text("")
    monkeypatch.setitem(PACKAGES, "layered", folder)
    assert _package_circles("layered") == [["layered.a", "layered.b", "layered.a"]]


# --- a default or a choice list is defined once ------------------------------------------------

REQUEST_MODULE = "propose_backend.request"  # where the request's defaults and choices live
# Names whose default is the request's: a number written as their default elsewhere is a second definition.
REQUEST_DEFAULTS = {"strength", "smooth", "seed", "samples", "smooth_strength", "resolve_strength", "resolve_seed"}
OWN_DEFAULTS = ("propose_backend.train",)  # training has its own seeds and sample counts


def _literal_defaults(name: str, path: Path) -> list[str]:
    """Places in `path` where a request-owned name gets a literal number as its default."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        pairs: list[tuple[str, ast.AST | None]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
            pairs = list(zip((a.arg for a in args), defaults + node.args.kw_defaults))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value
            if isinstance(value, ast.Call):  # bpy properties: FloatProperty(default=1.0, ...)
                value = next((k.value for k in value.keywords if k.arg == "default"), None)
            pairs = [(node.target.id, value)]
        for arg, default in pairs:
            if arg in REQUEST_DEFAULTS and isinstance(default, ast.Constant) and isinstance(default.value, (int, float)) \
                    and not isinstance(default.value, bool):
                found.append(f"{name}:{default.lineno} {arg}={default.value!r}")
    return found


def _choice_lists(name: str, path: Path) -> dict[tuple[str, ...], str]:
    """The module's tables (module-level names bound to literal lists, tuples, sets or dicts of two or
    more strings: the dict's keys, its values being literals too), by their sorted contents."""
    found = {}
    tables = [n.value for n in ast.parse(path.read_text(encoding="utf-8")).body
              if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value is not None]
    for node in (inner for table in tables for inner in ast.walk(table)):
        if isinstance(node, ast.Dict) and not all(isinstance(v, ast.Constant) for v in node.values):
            continue
        items = node.keys if isinstance(node, ast.Dict) else node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else []
        words = [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
        if len(words) >= 2 and len(words) == len(items):
            found.setdefault(tuple(sorted(words)), f"{name}:{node.lineno}")
    return found


def _request_choices() -> list[set[str]]:
    from propose_backend import request

    return [set(request.ESTIMATORS), set(request.DETECTORS), set(request.DEVICES)]


def test_request_defaults_are_defined_once() -> None:
    found = [place for package in PACKAGES for name, path in _modules(package).items()
             if name != REQUEST_MODULE and not name.startswith(OWN_DEFAULTS)
             for place in _literal_defaults(name, path)]
    assert found == [], "use propose_backend.request's DEFAULT_* (the add-on: bridge.request())"


def test_choice_lists_are_defined_once() -> None:
    """No literal list of choices twice, and the request's choices (estimators, detectors, devices)
    spelled out nowhere but in request.py."""
    seen: dict[tuple[str, ...], list[str]] = {}
    for package in PACKAGES:
        for name, path in _modules(package).items():
            if name.startswith(OWN_DEFAULTS):
                continue
            for words, place in _choice_lists(name, path).items():
                seen.setdefault(words, []).append(place)
    request_choices = _request_choices()
    spelled = {words: places for words, places in seen.items()
               if any(set(words) >= choices for choices in request_choices)
               and any(not p.startswith(REQUEST_MODULE + ":") for p in places)}
    assert spelled == {}
    twice = {words: places for words, places in seen.items() if len(places) > 1 and len(words) >= 3
             and len({p.split(":")[0] for p in places}) > 1}
    assert twice == {}, "keep the table in one module (a table both sides need: request.py or results.py)"


# --- the add-on in layers ----------------------------------------------------------------------

ADDON = "propose_blender"
# Where each kind of Blender class lives: panels in ui/, operators in operators/, settings in properties.py.
ADDON_CLASS_HOMES = {"Panel": ("propose_blender.ui",), "UIList": ("propose_blender.ui",), "Menu": ("propose_blender.ui",),
                     "Operator": ("propose_blender.operators",), "PropertyGroup": ("propose_blender.properties",),
                     "AddonPreferences": ("propose_blender.preferences",)}
ADDON_UPPER = ("propose_blender.ui", "propose_blender.operators")  # nothing below them imports them
ADDON_PACKAGES = {"propose_blender", "propose_blender.ui", "propose_blender.operators"}  # the only subpackages


def _blender_classes(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                if isinstance(base, ast.Attribute) and base.attr in ADDON_CLASS_HOMES \
                        and ast.unparse(base.value) in ("bpy.types", "types"):
                    found.append((base.attr, node.lineno))
    return found


def test_every_addon_module_is_in_its_layer() -> None:
    modules = _modules(ADDON)
    misplaced = [f"{name}:{line} {kind}" for name, path in modules.items() for kind, line in _blender_classes(path)
                 if not name.startswith(ADDON_CLASS_HOMES[kind])]
    assert misplaced == [], "panels go in ui/, operators in operators/, property groups in properties.py"
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    assert packages <= ADDON_PACKAGES, "a new subpackage is outside the add-on's layers: name its layer here"
    upward = [f"{name} -> {target}" for name, path in modules.items()
              if name != ADDON and not name.startswith(ADDON_UPPER)
              for target in _imported(name, path, set(modules)) if target.startswith(ADDON_UPPER)]
    assert upward == [], "the domain modules (rig, ghosts, ...) must not import the UI or the operators"
    sideways = [f"{name} -> {target}" for name, path in modules.items() if name.startswith("propose_blender.ui")
                for target in _imported(name, path, set(modules)) if target.startswith("propose_blender.operators")]
    assert sideways == [], "panels name operators by their idname, they do not import them"


def test_the_layer_check_finds_a_misplaced_operator(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "propose_blender"
    (folder / "ui").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "ui" / "__init__.py").write_text("")
    (folder / "rig.py").write_text("import bpy\n\nclass PROPOSE_OT_x(bpy.types.Operator):\n    pass\n")
    monkeypatch.setitem(PACKAGES, ADDON, folder)
    with pytest.raises(AssertionError, match="operators in operators/"):
        test_every_addon_module_is_in_its_layer()
