"""The shipped artefact: build the zip, install it as an extension, enable it, use its operators."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import bpy
import pytest

import build_addon
from propose_blender import ghosts

from addon_testing import EXTENSION_MODULE as MODULE, ROOT

def test_zip_holds_manifest_addon_and_backend_but_no_caches(tmp_path):
    package = build_addon.build(tmp_path / "propose_blender.zip")
    names = zipfile.ZipFile(package).namelist()
    assert {"blender_manifest.toml", "__init__.py", "batch.py", "backend_src/pyproject.toml",
            "backend_src/propose_backend/results.py", "backend_src/propose_backend/skeleton.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_extension_runs_its_operators(installed, results_file, tmp_path):
    assert MODULE in bpy.context.preferences.addons
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert (prefs.device, prefs.samples) == ("auto", 8)
    assert (installed / "backend_src" / "propose_backend" / "results.py").is_file()

    path, _ = results_file(num_frames=3, num_samples=2)
    assert bpy.ops.propose.import_results(filepath=str(path)) == {"FINISHED"}
    rig = bpy.context.scene.objects[path.stem]
    bpy.context.view_layer.objects.active = rig
    bpy.context.scene.frame_set(2)
    assert bpy.ops.propose.show_ghosts() == {"FINISHED"}
    assert len(ghosts.ghosts_of(rig)) == 2
    assert bpy.ops.propose.select_ghost(index=1) == {"FINISHED"}
    assert bpy.ops.propose.apply_ghost() == {"FINISHED"}
    assert bpy.ops.propose.hide_ghosts() == {"FINISHED"}
    assert not ghosts.ghosts_of(rig)
    bpy.context.preferences.system.use_online_access = False  # "Set up backend" must explain, not download
    with pytest.raises(RuntimeError, match="offline"):
        bpy.ops.propose.setup_backend()

    blend = tmp_path / "from_extension.blend"  # the headless entry point, run from the installed folder
    done = subprocess.run([sys.executable, str(installed / "batch.py"), "--", "--input", str(path),
                           "--output", str(blend)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert blend.is_file()


def test_batch_runs_as_a_module_and_fails_with_one_line(results_file, tmp_path):
    path, _ = results_file(num_frames=2, num_samples=1)
    env_cmd = [sys.executable, "-m", "propose_blender.batch"]
    done = subprocess.run([*env_cmd, "--input", str(path), "--output", str(tmp_path / "a.blend"),
                           "--fbx", str(tmp_path / "a.fbx")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.blend").is_file() and (tmp_path / "a.fbx").stat().st_size > 10_000
    failed = subprocess.run([*env_cmd, "--input", str(tmp_path / "missing.mp4"), "--output", str(tmp_path / "b.blend")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    reason = [line for line in failed.stderr.splitlines() if line.startswith("propose batch failed")]
    assert failed.returncode == 1 and len(reason) == 1 and "missing.mp4" in reason[0]


def test_zip_leaves_out_hidden_folders(tmp_path):
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "rig-checkpoint.py").write_text("")
    (tmp_path / "rig.py").write_text("")
    assert [p.name for p in build_addon._files(tmp_path)] == ["rig.py"]


def test_batch_refuses_a_missing_model_folder_and_a_bad_box(tmp_path):
    from propose_blender import headless as batch

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not decoded: the checks come before the backend starts")
    common = ["--input", str(clip), "--output", str(tmp_path / "a.blend")]
    with pytest.raises(batch.BatchFailed, match="model files folder .*does not exist"):
        batch.run([*common, "--model-files", str(tmp_path / "typo")])
    with pytest.raises(batch.BatchFailed, match="--bbox.*four numbers"):
        batch.run([*common, "--bbox", "10,20,30"])
    assert not (tmp_path / "a.blend").exists()


def test_batch_takes_the_request_flags_of_the_command_line():
    """The batch and `propose-backend estimate` read a request's flags from one table: same types,
    same choices (the batch once refused --device cuda:1 and mps, which the backend takes)."""
    from propose_backend import cli, request
    from propose_blender import headless

    base = ["--input", "clip.mp4", "--output", "clip.blend"]
    args = headless._arguments(base + ["--device", "cuda:1", "--smooth", "2", "--person", "2"])
    assert (args.device, args.smooth, args.person, args.seed, args.samples) == ("cuda:1", 2.0, 2, None, None)
    assert headless._arguments(base + ["--device", "mps", "--no-smooth"]).smooth == 0.0
    with pytest.raises(headless.BatchFailed, match="tpu"):
        headless._arguments(base + ["--device", "tpu"])
    estimate = next(a for a in cli.build_parser()._actions if a.dest == "command").choices["estimate"]
    batch = headless._Parser()
    request.add_request_flags(batch, tuple(request._flag_table(True)), with_defaults=False)
    flags = {a.option_strings[0]: a for a in estimate._actions if a.option_strings}
    shared = [a for a in batch._actions if a.dest in request._flag_table(True)]
    assert len(shared) >= 13
    for action in shared:
        same = flags[action.option_strings[0]]
        assert (getattr(action.type, "__name__", None), action.choices, action.const) == \
            (getattr(same.type, "__name__", None), same.choices, same.const)
