#!/usr/bin/env python3
"""Dask distributed on Task Bench's stencil_1d: no-op task throughput and
METG(50%), beside `delayed` (bench-suite/src/taskbench/, issue: Task Bench).

Run by scripts/taskbench.sh inside a venv with `dask[distributed]`:

    python3 -m venv target/taskbench-venv
    target/taskbench-venv/bin/pip install "dask[distributed]"
    target/taskbench-venv/bin/python scripts/dask-taskbench.py --workers 2 \
        --csv results/taskbench/raw-dask.csv --noop-csv results/taskbench/dask-noop.csv

A LocalCluster of N worker processes, one thread each, listening on
127.0.0.1 only (no dashboards): nothing here reaches beyond loopback.

Rows have the columns of bench-suite/src/taskbench/sample.rs, so that
`taskbench report` reads them with the Rust rows. The kernel is the same
dependent chain of multiply-adds as kernel.rs, written in Python (a loop of
float operations), calibrated here in ns per iteration; each task outputs
the same checksum as kernel.rs, checked against a sequential run.
"""

import argparse
import os
import statistics
import sys
import time

MASK = (1 << 64) - 1


def kernel(iterations):
    """`iterations` dependent multiply-adds on one float (kernel.rs)."""
    x, a, b = 1.0, 0.9999999, 1e-8
    for _ in range(iterations):
        x = x * a + b
    return x


def checksum(t, i, inputs, result):
    """The output of point (t, i): kernel.rs's `checksum`."""
    import struct

    h = (((t << 32) | i) * 0x9E3779B97F4A7C15) & MASK
    for v in inputs:
        h = ((h ^ v) * 0x00000100000001B3) & MASK
        h = ((h << 23) | (h >> 41)) & MASK
    return h ^ struct.unpack("<Q", struct.pack("<d", result))[0]


def point(t, i, iterations, *inputs):
    """One task: the kernel, then the checksum of the inputs."""
    return checksum(t, i, inputs, kernel(iterations))


def deps(t, i, width):
    """stencil_1d: i-1, i, i+1 of step t-1, within bounds (pattern.rs)."""
    if t == 0:
        return []
    return list(range(max(0, i - 1), min(i + 1, width - 1) + 1))


def reference(width, steps, iterations):
    result = kernel(iterations)
    row = []
    for t in range(steps):
        row = [checksum(t, i, [row[j] for j in deps(t, i, width)], result)
               for i in range(width)]
    return row


def calibrate(rounds=7, n=200_000):
    kernel(n // 10)
    best = min(_timed(lambda: kernel(n)) for _ in range(rounds))
    return best * 1e9 / n


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def stencil(client, width, steps, iterations):
    """Builds the graph with dask.delayed and computes the last step on the
    cluster: (wall seconds, build and compute, and whether it matched)."""
    import dask

    start = time.perf_counter()
    task = dask.delayed(point, pure=False)
    row = []
    for t in range(steps):
        row = [task(t, i, iterations, *[row[j] for j in deps(t, i, width)])
               for i in range(width)]
    out = list(dask.compute(*row, scheduler=client))
    wall = time.perf_counter() - start
    return wall, out == reference(width, steps, iterations)


def noop(client, tasks, runs):
    """`tasks` delayed no-ops and their sum: tasks per second, per run
    (after one warm-up run)."""
    import dask

    def nothing(i):
        return i

    rates = []
    for run in range(runs + 1):
        start = time.perf_counter()
        xs = [dask.delayed(nothing, pure=False)(i) for i in range(tasks)]
        total = dask.delayed(sum)(xs).compute(scheduler=client)
        wall = time.perf_counter() - start
        assert total == tasks * (tasks - 1) // 2
        if run > 0:  # the first run warms the workers up
            rates.append((tasks + 1) / wall)
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="worker processes, 1 thread each")
    ap.add_argument("--steps", type=int, default=20, help="timesteps of stencil_1d")
    ap.add_argument("--runs", type=int, default=3, help="runs per sweep point")
    ap.add_argument("--max-log2", type=int, default=21, help="largest kernel: 2^k iterations")
    ap.add_argument("--min-log2", type=int, default=10, help="smallest kernel: 2^k iterations")
    ap.add_argument("--budget-s", type=float, default=120.0,
                    help="stop the sweep once this much time is spent")
    ap.add_argument("--stop-below", type=float, default=0.2,
                    help="stop once efficiency is below this fraction of the peak")
    ap.add_argument("--noop-tasks", type=int, default=2_000)
    ap.add_argument("--csv", required=True, help="append sweep rows here")
    ap.add_argument("--noop-csv", required=True, help="append no-op throughput here")
    args = ap.parse_args()

    import dask
    import distributed
    from distributed import Client, LocalCluster

    cpus = os.cpu_count() or 1
    cores = min(args.workers, cpus)
    dask.config.set({"distributed.worker.daemon": False})
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None,
                      worker_dashboard_address=None) as cluster, Client(cluster) as client:
        # The kernel runs in the workers: calibrate it there (the fastest).
        ns_per_iteration = min(client.run(calibrate).values())
        print(f"dask {dask.__version__}, distributed {distributed.__version__}; python kernel "
              f"{ns_per_iteration:.2f} ns/iteration (in the workers); {args.workers} worker "
              f"process(es) x 1 thread", file=sys.stderr)
        rates = noop(client, args.noop_tasks, args.runs)
        new = not os.path.exists(args.noop_csv) or os.path.getsize(args.noop_csv) == 0
        with open(args.noop_csv, "a") as f:
            if new:
                f.write("system,workers,threads_per_worker,tasks,runs,best_tasks_per_s,"
                        "median_tasks_per_s,us_per_task_median,dask,distributed\n")
            med = statistics.median(rates)
            f.write(f"dask,{args.workers},1,{args.noop_tasks + 1},{len(rates)},{max(rates):.0f},"
                    f"{med:.0f},{1e6 / med:.1f},{dask.__version__},{distributed.__version__}\n")
        print(f"no-op: {args.noop_tasks} tasks + sum: median {med:.0f} tasks/s "
              f"(best {max(rates):.0f})", file=sys.stderr)

        width, steps = args.workers, args.steps
        tasks = width * steps
        stencil(client, width, steps, 1 << args.min_log2)  # warm-up
        spent_start = time.perf_counter()
        new = not os.path.exists(args.csv) or os.path.getsize(args.csv) == 0
        peak = 0.0
        with open(args.csv, "a") as f:
            if new:
                f.write("system,ranks,workers,cores,pattern,width,steps,iterations,tasks,"
                        "kernel_ns,wall_s,wall_s_median,runs,efficiency,checked\n")
            for k in range(args.max_log2, args.min_log2 - 1, -1):
                iterations = 1 << k
                results = [stencil(client, width, steps, iterations) for _ in range(args.runs)]
                walls = [w for w, _ in results]
                checked = all(ok for _, ok in results)
                kernel_ns = iterations * ns_per_iteration
                best = min(walls)
                eff = tasks * kernel_ns * 1e-9 / (best * cores)
                row = (f"dask,{args.workers},1,{cores},stencil_1d,{width},{steps},{iterations},"
                       f"{tasks},{kernel_ns:.1f},{best:.6f},{statistics.median(walls):.6f},"
                       f"{len(walls)},{eff:.4f},{'true' if checked else 'false'}")
                f.write(row + "\n")
                f.flush()
                print(f"  dask stencil_1d {iterations:>8} iter  kernel {kernel_ns:>12.0f} ns  "
                      f"wall {best:.4f} s  eff {eff:.3f}", file=sys.stderr)
                peak = max(peak, eff)
                if eff < args.stop_below * peak:
                    break
                if time.perf_counter() - spent_start > args.budget_s:
                    print("  (time budget spent: sweep stopped)", file=sys.stderr)
                    break


if __name__ == "__main__":
    main()
