"""The `propose-backend` command line: estimate, serve, resolve, convert-body, bench (and train/evaluate when installed).

Errors the user can act on print as one line without a traceback (`--debug` shows it); the
exit status is 0 on success, 1 on such errors, 2 for bad usage, 3 for a bug, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from . import __version__, request

log = logging.getLogger("propose_backend")

EXIT_ERROR, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 3, 130
NO_PERSON_HINT = (" If there is one, list the people found with 'propose-backend people --input FILE' and "
                  "pick one with --person N, give its box with --bbox x,y,w,h, or use --detector full-frame.")


_strength = request.argument_type(request.parse_strength)
_positive = request.argument_type(request.parse_positive)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by estimate and bench: which model files, on which device, how fast."""
    parser.add_argument("--checkpoint", help="ProPose checkpoint (default: propose_hr48_xyz.pth in "
                                             "$PROPOSE_MODEL_FILES or model_files/)")
    parser.add_argument("--body-model", help="SMPL / SMPL-H / SMPL-X .npz/.pkl (default: SMPLX_*, SMPLH_*, "
                                             "SMPL_NEUTRAL.* there, else the licence-free Anny body)")
    request.add_request_flags(parser, ("device",))
    parser.add_argument("--fp32", action="store_true", help="on CUDA, run the network in fp32 instead of bf16")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="on CUDA, capture the network as a CUDA graph for the batch size")
    request.add_request_flags(parser, ("seed",))


def build_parser() -> argparse.ArgumentParser:
    """The parser imports nothing heavy: `--help` and `serve` start without torch or OpenCV."""
    parser = argparse.ArgumentParser(prog="propose-backend",
                                     description="ProPose human mesh recovery with per-joint uncertainty.")
    parser.add_argument("--version", action="version", version=f"propose-backend {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    est = commands.add_parser("estimate", help="images/videos in, results files out",
                              description="Estimate the body pose in images or videos; one results file "
                                          "(.npz, see docs/results-schema.md) per input.")
    est.add_argument("--input", "-i", nargs="+", required=True, metavar="PATH",
                     help="image(s), video(s) or folder(s) of them")
    est.add_argument("--output", "-o", metavar="PATH",
                     help="results file for one input, folder for several (default: NAME.propose.npz "
                          "next to each input)")
    _add_model_arguments(est)
    request.add_request_flags(est, ("estimator", "allow_random_weights", "samples"))
    est.add_argument("--batch-size", type=_positive, default=None,
                     help="frames per network pass (default 32 on CUDA, 1 on CPU); smaller batches "
                          "follow fast motion more closely")
    request.add_request_flags(est, ("frames", "bbox", "person", "detector", "mirrored", "focal_px"))
    est.add_argument("--everyone", action="store_true", default=None,
                     help="follow every person in the footage: OUT.person-N.npz per person and the clip "
                          "index OUT.people.json (docs/results-schema.md)")
    est.add_argument("--chunk-frames", type=_positive, default=request.CHUNK_FRAMES,
                     help="frames per chunk written while running (kept if the run stops)")
    est.add_argument("--redetect-every", type=_positive, default=request.REDETECT_EVERY,
                     help="frames between detector checks that the person is still there")
    request.add_request_flags(est, ("smooth", "still_camera"))
    batch = est.add_argument_group("batches (several inputs; docs/batches.md)")
    batch.add_argument("--ray-address", metavar="ADDRESS",
                       help="join this Ray cluster (e.g. auto, or HEAD:6379) instead of running Ray inside this machine")
    batch.add_argument("--workers", type=_positive, help="workers (each loads the model once; default: one "
                                                         "per GPU of the cluster, else one)")
    batch.add_argument("--cpus-per-worker", type=float, help="CPUs each worker holds (default: the machine's CPUs "
                                                             "shared out; 1 per GPU worker)")
    batch.add_argument("--piece-frames", type=_positive, default=None,
                       help="cut clips longer than 1.5x this into pieces for several workers (default 1500)")
    batch.add_argument("--retries", type=int, default=2, help="new tries of a clip whose worker died (default 2)")
    batch.add_argument("--manifest", type=Path, help="the batch's bookkeeping file (default: propose-batch.json "
                                                     "in the output folder); a re-run skips what it records as done")
    batch.add_argument("--summary", type=Path, help="where the run's JSON summary goes (default: "
                                                    "propose-batch-summary.json beside the manifest)")
    batch.add_argument("--redo", action="store_true", help="estimate every input again, even those already done")
    batch.add_argument("--convert", metavar="FORMATS",
                       help="also turn each results file into these, beside it: blend, fbx, bvh, glb "
                            "(comma-separated; headless Blender, the bpy module, on the workers)")
    batch.add_argument("--blender", metavar="PATH", help="for --convert: a Python with the bpy module, or a blender "
                                                         "binary (default: the workers' Python)")
    est.set_defaults(func=_run_estimate)

    smo = commands.add_parser("smooth", help="temporal smoothing of an existing results file",
                              description="Re-process a results file (schema 1 or 2) with the temporal "
                                          "smoother: smoothed pose, posteriors and ghost motions, root path, "
                                          "floor and foot contacts (schema 2; the per-frame values stay as raw_*).")
    smo.add_argument("source", metavar="IN.npz")
    smo.add_argument("target", metavar="OUT.npz")
    smo.add_argument("--strength", type=_strength, default=request.DEFAULT_SMOOTH,
                     help="1 default, 2 smoother, 0.5 closer to the per-frame poses; 0 writes the raw "
                          "per-frame values back")
    smo.add_argument("--seed", type=int, default=request.DEFAULT_SEED, help="random seed of the ghost trajectories")
    smo.set_defaults(func=_run_smooth)

    rec = commands.add_parser("recover", help="write the people of an everyone run that was killed",
                              description="An `estimate --everyone` run writes each person's frames to disk as it "
                                          "goes (OUT.track-K.npz.chunks); after a kill or a power loss this turns "
                                          "them into OUT.person-N.npz and OUT.people.json (unsmoothed, still camera).")
    rec.add_argument("output", metavar="OUT.npz", help="the output the killed run was asked to write")
    rec.set_defaults(func=_run_recover)

    ppl = commands.add_parser("people", help="list the people found in one frame, numbered for --person",
                              description="Find everyone in one frame of an image or video and print their "
                                          "boxes, numbered left to right as --person takes them.")
    ppl.add_argument("--input", "-i", required=True, metavar="PATH", help="an image or a video")
    ppl.add_argument("--frame", type=int, default=0, help="video frame to search (0-based, default 0)")
    ppl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ppl.set_defaults(func=_run_people)

    frm = commands.add_parser("frame", help="write one frame of a video (or an image) as PNG",
                              description="Decode one source frame upright, as the estimator sees it, and "
                                          "write it as PNG (the add-on's stills use it as their background).")
    frm.add_argument("--input", "-i", required=True, metavar="PATH", help="an image or a video")
    frm.add_argument("--frame", type=int, default=0, help="source frame (0-based, default 0)")
    frm.add_argument("--output", "-o", required=True, metavar="PNG")
    frm.set_defaults(func=_run_frame)

    srv = commands.add_parser("serve", help="JSON-lines service for the Blender add-on (docs/protocol.md)",
                              description="Serve the JSON-lines protocol on stdin/stdout (or, with --port, "
                                          "on 127.0.0.1 only).")
    srv.add_argument("--port", type=int, default=None,
                     help="listen on 127.0.0.1:PORT for one client instead of stdin/stdout")
    srv.set_defaults(func=_run_serve)

    conv = commands.add_parser("convert-body", help="convert an SMPL/SMPL-H/SMPL-X .pkl to a plain .npz",
                               description="Read an official SMPL, SMPL-H or SMPL-X .pkl (without chumpy, "
                                           "without running pickled code) and write a plain smplx-style .npz.")
    conv.add_argument("source", metavar="IN.pkl")
    conv.add_argument("target", metavar="OUT.npz")
    conv.set_defaults(func=_run_convert_body)

    res = commands.add_parser("resolve", help="re-solve a clip around pinned bone rotations",
                              description="Run the temporal posterior on a results file with the pins as "
                                          "(near-)hard observations and write the re-solved results.")
    res.add_argument("source", metavar="IN.npz", help="results file (schema 1 or 2)")
    res.add_argument("target", metavar="OUT.npz", help="where the re-solved results go (not IN.npz)")
    res.add_argument("--pins", required=True, metavar="PINS.json",
                     help='{"pins": [{"frame_index": F, "joint": J or name, "rotmat": [[3x3]]}, ...]}')
    res.add_argument("--strength", type=request.argument_type(request.parse_resolve_strength),
                     default=request.DEFAULT_SMOOTH, help=f"smoothing strength (default {request.DEFAULT_SMOOTH:g}; "
                                                          "2 = smoother)")
    res.add_argument("--seed", type=int, default=request.DEFAULT_SEED, help="random seed of the re-drawn ghosts")
    res.set_defaults(func=_run_resolve)

    bench = commands.add_parser("bench", help="speed figures of this machine (docs/performance.md)",
                                description="Measure backbone, network + posterior + samples, latency "
                                            "and end-to-end throughput on this device.")
    _add_model_arguments(bench)
    bench.add_argument("--quick", action="store_true", help="small batches and a short clip (CPU-sized)")
    bench.add_argument("--batches", help="comma-separated batch sizes (default 1,64,256; --quick: 1,4)")
    bench.add_argument("--clip-frames", type=_positive, default=None,
                       help="frames of the generated 1080p clip (default 600; --quick: 8)")
    bench.add_argument("--video", type=Path, default=None,
                       help="time end to end on this video instead of a generated clip (--clip-frames: first N)")
    bench.add_argument("--fast-only", action="store_true", help="skip the eager fp32 comparison path")
    bench.add_argument("--json", type=Path, default=None, help="also write the figures here")
    bench.set_defaults(func=_run_bench)

    if importlib.util.find_spec("propose_backend.train.cli") is not None:
        from .train.cli import register

        register(commands)
    return parser


def _model_files(wanted: request.EstimateRequest):
    from .inference import find_model_files

    return find_model_files(wanted.checkpoint, wanted.body_model)


def _warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def _batch_settings(args: argparse.Namespace, inputs: int):
    from .batch.plan import PIECE_FRAMES
    from .batch.runner import CONVERSIONS, BatchSettings

    wanted = [f".{name.strip().lower().lstrip('.')}" for name in (args.convert or "").split(",") if name.strip()]
    unknown = [w for w in wanted if w not in CONVERSIONS]
    if unknown:
        raise request.RequestError("convert", f"cannot make {', '.join(unknown)}; choose from "
                                              f"{', '.join(c.lstrip('.') for c in CONVERSIONS)}")
    convert = tuple(c for c in CONVERSIONS if c in wanted or (wanted and c == ".blend"))  # the .blend always
    use_ray = inputs > 1 or bool(args.ray_address or args.workers)
    return BatchSettings(ray_address=args.ray_address, workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                         piece_frames=args.piece_frames or PIECE_FRAMES, retries=args.retries, manifest=args.manifest,
                         summary=args.summary, convert=convert, blender_python=args.blender, use_ray=use_ray,
                         keep_books=use_ray or args.manifest is not None, redo=args.redo, debug=args.debug)


def _run_estimate(args: argparse.Namespace) -> int:
    from .batch.report import BatchReport
    from .batch.runner import run_batch
    from .estimators import RANDOM_WEIGHTS_WARNING
    from .jobs import plan_jobs
    from .run_plan import RunPlan

    wanted = request.EstimateRequest.from_args(args, input="", output=args.output)  # inputs: one job each, below
    jobs = plan_jobs(args.input, args.output)
    batch = _batch_settings(args, len(jobs))
    plan = RunPlan(wanted).resolved()
    cancel = threading.Event()

    def interrupt(_signum, _frame) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once
        _warn("interrupted: finishing the current batch and writing the frames done so far")

    report = BatchReport(hints={"no_person": NO_PERSON_HINT})
    previous_handler = signal.signal(signal.SIGINT, interrupt)
    try:
        summary = run_batch(jobs, plan, _model_files(wanted), batch, report, cancel)
    finally:
        signal.signal(signal.SIGINT, previous_handler)  # main() may be called again from Python
    if summary["random_weights"]:
        _warn(RANDOM_WEIGHTS_WARNING)  # once more, after the results, so it cannot scroll away
    if cancel.is_set():
        return EXIT_INTERRUPTED
    return EXIT_ERROR if summary["clips"]["failed"] or summary["clips"]["pending"] else 0


def _run_people(args: argparse.Namespace) -> int:
    import json

    from .inference.people import people_in_file

    found = people_in_file(args.input, max(0, args.frame))
    if args.json:
        print(json.dumps(found.as_json()))
        return 0
    listed = found.as_json()["people"]
    print(f"{args.input}, frame {found.frame}: {len(listed)} {'person' if len(listed) == 1 else 'people'} "
          "(numbered left to right; follow one with estimate --person N)")
    for person in listed:
        x, y, w, h = person["box"]
        print(f"  {person['number']}: box x={x:.0f} y={y:.0f} w={w:.0f} h={h:.0f}  ({person['source']}, "
              f"score {person['score']:.2f})")
    return 0 if listed else EXIT_ERROR


def _run_frame(args: argparse.Namespace) -> int:
    import cv2

    from .inference import InferenceError
    from .inference.footage import open_footage
    from .request import FrameRange

    footage = open_footage(args.input, FrameRange(args.frame, args.frame + 1) if args.frame > 0 else None)
    frame = next(iter(footage.frames()), None)
    if frame is None:
        raise InferenceError("bad_input", f"{args.input}: frame {args.frame} could not be read.")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.output), frame.image):
        raise InferenceError("bad_request", f"{args.output} could not be written; choose another path.")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from .serve import serve_socket, serve_stdio

    return serve_socket(args.port) if args.port is not None else serve_stdio()


def _run_smooth(args: argparse.Namespace) -> int:
    from .temporal.files import smooth_file

    path = smooth_file(args.source, args.target, strength=args.strength, seed=args.seed)
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _run_recover(args: argparse.Namespace) -> int:
    from .inference.everyone import recover_people

    index = recover_people(args.output)
    if index is None:
        print(f"error: no person of a killed everyone run writing {args.output} was followed long enough "
              "(no OUT.track-K.npz.chunks with enough frames).", file=sys.stderr)
        return EXIT_ERROR
    print(f"wrote {index}", file=sys.stderr)
    return 0


def _run_convert_body(args: argparse.Namespace) -> int:
    from .body import load_body_model, save_npz
    from .body.files import read_model_arrays, save_arrays

    body = load_body_model(args.source)  # checks the file first
    # SMPL-H / SMPL-X keep all their arrays (fingers, face); SMPL is written in its smplx layout
    written = save_npz(body, args.target) if body.kind == "smpl" else save_arrays(read_model_arrays(args.source),
                                                                                 args.target)
    print(f"wrote {written} ({body.num_vertices} vertices)", file=sys.stderr)
    return 0


def _run_resolve(args: argparse.Namespace) -> int:
    from .resolve import read_pins, run_request

    wanted = request.ResolveRequest(args.source, args.target, read_pins(args.pins), args.strength, args.seed)
    summary = run_request(wanted.validate())
    print(f"wrote {summary.output}: {summary.frames} frames re-solved around {summary.pins} pins in "
          f"{summary.seconds:.1f} s", file=sys.stderr)
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    from .run_plan import RunPlan

    wanted = request.EstimateRequest.from_args(args, input="", output=None, batch_size=1)
    return run_bench(args, RunPlan(wanted).estimator_settings(_model_files(wanted)))


def _user_error(exc: BaseException) -> str | None:
    """The message of an error the user can act on, or None for a bug."""
    from .body import BodyModelError
    from .inference import InferenceError
    from .model import CheckpointError
    from .resolve import ResolveError
    from .results import ResultsError

    if isinstance(exc, request.RequestError):
        return f"--{exc.field.replace('_', '-')} {exc.message}" if exc.field else exc.message
    if isinstance(exc, InferenceError):
        return exc.message
    if isinstance(exc, (CheckpointError, BodyModelError, ResultsError, ResolveError)):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s: %(message)s")
    if not args.debug:
        logging.getLogger("propose_backend.api").setLevel(logging.ERROR)  # we print our own warnings
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # our messages say what FFmpeg's would
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one place where every failure becomes a message
        if args.debug:
            raise
        message = _user_error(exc)
        if message is None:
            print(f"internal error: {type(exc).__name__}: {exc}. This is a bug; run again with --debug "
                  "and report the traceback.", file=sys.stderr)
            return EXIT_BUG
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
