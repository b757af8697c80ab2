#!/usr/bin/env bash
# The GPU figures of docs/performance.md in one go, for a session that has a CUDA machine.
# Run from the repository root:  bash benchmarks/gpu_figures.sh [OUT_FOLDER]   (default: gpu_figures/)
# At most 9 minutes 10 s (the sum of the steps' limits; typically less) on an H100/H200 with random
# weights, so it fits one 10-minute device command; every step has its own time limit, and a
# failing step is logged and skipped so the others still report. Copy the printed tables, with the
# card's name from nvidia-smi.txt, into docs/performance.md ("GPU" and "Training").
set -u
OUT="${1:-gpu_figures}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"
export PYTHONPATH="backend:.${PYTHONPATH:+:$PYTHONPATH}"
step() {  # step NAME SECONDS COMMAND...: run with a limit, keep stdout+stderr in OUT/NAME.txt
  local name="$1" limit="$2"; shift 2
  echo "== $name ($*)"
  local begin=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  tail -n 25 "$OUT/$name.txt"
  echo "== $name: exit $rc after $((SECONDS - begin)) s"
}
step nvidia-smi 20 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
step bench_eager 200 "$PY" -m propose_backend bench --device cuda --json "$OUT/bench_eager.json"
step bench_graphs 120 "$PY" -m propose_backend bench --device cuda --cuda-graphs --fast-only \
  --json "$OUT/bench_graphs.json"
step parity 60 "$PY" benchmarks/gpu_parity.py --json "$OUT/parity.json"
step train_b16 60 "$PY" -m propose_backend train --config synthetic_w48 --benchmark-steps 50 --batch-size 16
step train_b64 90 "$PY" -m propose_backend train --config synthetic_w48 --benchmark-steps 50 --batch-size 64
echo "figures in $OUT/"
