"""Headless entry point: footage (or a results file) in, a .blend (and optionally FBX/BVH/glTF) out.

    blender --background --python propose_blender/batch.py -- --input clip.mp4 --output clip.blend \
        [--fbx clip.fbx] [--bvh clip.bvh] [--gltf clip.glb] [--samples N] [--smooth S | --no-smooth]
        [--python /path/to/backend/python] [--device cpu]
    python -m propose_blender.batch --input clip.mp4 --output clip.blend      # under the bpy module

Works from the repository and from the installed extension folder. An --input ending in .npz is
imported as a results file without running the backend. Every warning of the run (demo body, a
video that ended early, ...) is printed on stderr. The exit status tells the outcome:

    0  done: every frame of the footage went through, the .blend is saved
    1  failed: nothing was saved; the one-line reason says what to do
    3  partial: the .blend is saved, but holds only part of the footage (the backend stopped
       mid-run, or the video ended before its header said); the reason says why
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

EXIT_DONE, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3


def main(argv: list[str] | None = None) -> int:
    """Run the batch on `argv` (default: the arguments after `--`) and return the exit status."""
    from .headless import BatchFailed, run

    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    try:
        partial = run(argv)
    except BatchFailed as exc:
        print(f"propose batch failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if partial:
        print(f"propose batch partial: {partial}", file=sys.stderr)
        return EXIT_PARTIAL
    print("propose batch: done", file=sys.stderr)
    return EXIT_DONE


def _script_package() -> str:
    """The package to run when this file is a script: the enabled extension it belongs to (so its
    preferences apply), else the folder it sits in, imported as `propose_blender`."""
    import bpy

    here = Path(__file__).resolve().parent
    for name in (a.module for a in bpy.context.preferences.addons if a.module.endswith("." + here.name)):
        if Path(importlib.import_module(name).__file__).resolve().parent == here:
            return name
    sys.path.insert(0, str(here.parent))
    return here.name


if __name__ == "__main__":
    if __package__:  # python -m propose_blender.batch
        sys.exit(main())
    sys.exit(importlib.import_module(_script_package() + ".batch").main())  # blender --python .../batch.py
