"""Estimating a library of clips on Ray: one machine or a cluster, resumable, nothing lost.

    plan.py      the clips and their frame-range pieces (a long clip is cut so several workers share it)
    manifest.py  the bookkeeping next to the results: each clip's state, checked against its input
                 and the request, so a second run of the same command skips what is done
    worker.py    the Ray actor: one per device, the model loaded once; estimates pieces, joins them
                 (one smoothing pass over the whole clip: no seam) and turns results into .blend/FBX
    runner.py    the driver: starts or joins Ray, hands out the work, retries what a dead worker
                 held, reports progress and writes the run's JSON summary

See docs/batches.md. The command line's `estimate` uses it for several inputs (and for one input
when a batch flag such as --ray-address or --workers is given).
"""
