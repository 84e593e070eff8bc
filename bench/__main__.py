"""Speed, memory, size and cost of the function (a benchmark, not a test): prints tables and JSON.

    python -m bench [--calls 200] [--skip-xception] [--skip-install] [--skip-sizes]

- cold start: a fresh process from start to its first prediction (median of 5);
- warm latency of the handler for a 400 px JPEG given as bytes, p50/p95 over `calls`
  calls on one thread, and the model alone;
- requests per second through the local server at concurrency 1, 2 and 4;
- peak resident memory of a serving process; size of the runtime install and the model;
- the same handler with an Xception-299 TFLite model (random weights) as the baseline;
- at each Lambda memory size (512 to 3,008 MB), the warm handler and the cold start of both
  models under a CPU quota equal to that size's share of a vCPU (a cgroup of their own, see
  bench/cpu_quota.py), and what a million predictions cost there
  (bench/lambda_cost.py): a table, docs/lambda-cost.json and docs/lambda-cost.png.
  Without a CPU quota (not root, no cgroup cpu controller) it says so and estimates each
  size from the whole-core time instead (CPU-bound: time over the size's share).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

from bench import lambda_cost
from bench.baseline import xception_model
from bench.measure import cold_start, machine, runtime_install_size, server_throughput, warm_latency
from bench.report import plot_sizes, print_sizes, print_summary
from bench.sizes import memory_sizes
from catbreed.model import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line (the flags of `make bench`'s run, all optional)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=raw)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--skip-xception", action="store_true")
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--skip-server", action="store_true", help="leave out requests/s through the local server")
    parser.add_argument("--skip-sizes", action="store_true", help="leave out the Lambda memory sizes and their cost")
    parser.add_argument("--size-calls", type=int, default=40, help="warm calls per memory size, shipped model")
    parser.add_argument("--size-calls-xception", type=int, default=15, help="warm calls per memory size, baseline")
    parser.add_argument("--size-cold-runs", type=int, default=3, help="cold starts per memory size")
    parser.add_argument("--note", default="", help="a remark stored with the sizes' figures and shown on the plot")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> dict:
    """Every figure the arguments ask for, as one dict (artifacts/benchmark.json)."""
    results: dict = {"machine": machine()}
    results["cold_start"] = cold_start()
    results["shipped"] = warm_latency(DEFAULT_MODEL_DIR, args.calls)
    if not args.skip_server:
        results["server_requests_per_second"] = server_throughput()
    if not args.skip_install:
        results["install"] = runtime_install_size()
    with tempfile.TemporaryDirectory() as tmp:
        models = {"shipped": DEFAULT_MODEL_DIR}
        if not args.skip_xception:
            breeds = len(json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())["breeds"])
            models["xception"] = xception_model(Path(tmp), breeds)
            results["xception_baseline"] = warm_latency(models["xception"], args.calls)
            results["speedup_vs_xception"] = round(
                results["xception_baseline"]["handler"]["p50_ms"] / results["shipped"]["handler"]["p50_ms"], 1
            )
        if not args.skip_sizes:
            calls = {"shipped": args.size_calls, "xception": args.size_calls_xception}
            results["lambda_sizes"] = memory_sizes(models, {name: calls[name] for name in models}, args.size_cold_runs)
    return results


def main(argv: list[str] | None = None) -> None:
    # the output is the table and the JSON: no request records, no metrics (here and in the
    # child processes; set in main, so that importing this module changes nothing)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("catbreed").setLevel(logging.WARNING)
    args = parse(argv)
    os.environ["CATBREED_THREADS"] = "1"
    results = measure(args)
    print_summary(results)
    if "lambda_sizes" in results:
        sizes = results["lambda_sizes"]
        at_one_vcpu = sizes["models"]["shipped"][str(lambda_cost.MB_PER_VCPU)]
        sizes["one_vcpu_vs_whole_core_p50"] = round(at_one_vcpu["p50_ms"] / results["shipped"]["handler"]["p50_ms"], 3)
        sizes["machine"] = results["machine"]
        sizes["note"] = args.note
        print_sizes(sizes)
        agrees = abs(sizes["one_vcpu_vs_whole_core_p50"] - 1) <= 0.15
        print(
            f"at {lambda_cost.MB_PER_VCPU} MB the warm p50 is {sizes['one_vcpu_vs_whole_core_p50']}x the whole-core p50 "
            f"({'within' if agrees else 'NOT within'} 15%)"
        )
        (DOCS / "lambda-cost.json").write_text(json.dumps(sizes, indent=1) + "\n")
        plot_sizes(sizes, DOCS / "lambda-cost.png")
        print(f"wrote {DOCS / 'lambda-cost.json'} and {DOCS / 'lambda-cost.png'}")
    out = ROOT / "artifacts" / "benchmark.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
