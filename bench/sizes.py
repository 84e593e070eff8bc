"""Each Lambda memory size: the warm handler and the cold start under that size's CPU quota
(bench/cpu_quota.py), or estimated from the whole-core time where no quota can be set, and
what a million predictions cost there (bench/lambda_cost.py).

    python -m bench.sizes MODEL_DIR CALLS    # the child at_memory_size runs under a quota
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import lambda_cost
from bench.cpu_quota import CpuQuota, QuotaUnavailable, unavailable
from bench.measure import cold_start, handler_samples, percentiles
from catbreed.model import Classifier

ROOT = Path(__file__).resolve().parent.parent


def warm_worker(model_dir: Path, calls: int) -> None:
    """Child process of `at_memory_size`: prints the warm handler's milliseconds as JSON."""
    samples = handler_samples(Classifier(model_dir, num_threads=1), calls, warmup=5)
    print(json.dumps([s * 1000 for s in samples]))


def size_figures(memory_mb: int, handler_ms: list[float], cold_s: float) -> dict:
    """Latency and cost at one memory size from the warm handler's samples."""
    p = percentiles([ms / 1000 for ms in handler_ms])
    billed = lambda_cost.billed_ms(handler_ms)
    return {
        **p,
        "cold_start_ms": round(cold_s * 1000),
        "billed_ms": round(billed, 2),
        "usd_per_million": {
            arch: round(lambda_cost.cost_per_million_usd(memory_mb, billed, arch), 4)
            for arch in lambda_cost.PRICE_PER_GB_SECOND_USD
        },
    }


def at_memory_size(memory_mb: int, model_dir: Path, calls: int, cold_runs: int) -> dict:
    """Warm handler and cold start in child processes under this size's CPU quota."""
    quota_us = lambda_cost.cfs_quota_us(memory_mb, os.cpu_count() or 1)
    with CpuQuota(f"catbreed-bench-{os.getpid()}-{memory_mb}", quota_us) as quota:
        env = {**os.environ, "CATBREED_THREADS": "1"}
        out = subprocess.run(
            [sys.executable, "-m", "bench.sizes", str(model_dir), str(calls)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True, preexec_fn=quota.join,
        )
        handler_ms = json.loads(out.stdout.strip().splitlines()[-1])
        cold = cold_start(cold_runs, model_dir, preexec_fn=quota.join)
        throttled_s = quota.throttled_us() / 1e6
    return {**size_figures(memory_mb, handler_ms, cold["median_s"]), "quota_us": quota_us, "throttled_s": round(throttled_s, 1)}


def estimated_at_memory_size(memory_mb: int, whole_core: dict) -> dict:
    """Without a CPU quota: the whole-core figures over this size's share (at most one core),
    as if the handler were CPU-bound throughout."""
    slowdown = 1 / min(lambda_cost.vcpu_share(memory_mb), 1.0)
    handler_ms = [ms * slowdown for ms in whole_core["handler_ms"]]
    return {**size_figures(memory_mb, handler_ms, whole_core["cold_s"] * slowdown), "estimated": True}


def memory_sizes(models: dict[str, Path], calls: dict[str, int], cold_runs: int) -> dict:
    """Every model at every Lambda memory size; quota when this machine allows one."""
    reason = unavailable()
    if reason:
        print(
            f"NOTE: no CPU quota on this machine ({reason}); each memory size is ESTIMATED from the whole-core "
            "time divided by its vCPU share (run as root on Linux with a cgroup cpu controller to measure).",
            file=sys.stderr,
        )
    sizes: dict[str, dict] = {name: {} for name in models}
    for name, model_dir in models.items():
        whole_core = None
        if reason:
            classifier = Classifier(model_dir, num_threads=1)
            samples = handler_samples(classifier, calls[name], warmup=5)
            whole_core = {"handler_ms": [s * 1000 for s in samples], "cold_s": cold_start(cold_runs, model_dir)["median_s"]}
        for memory_mb in lambda_cost.MEMORY_SIZES_MB:
            print(f"  {name} at {memory_mb} MB ...", file=sys.stderr, flush=True)
            try:
                figures = (
                    estimated_at_memory_size(memory_mb, whole_core)
                    if whole_core
                    else at_memory_size(memory_mb, model_dir, calls[name], cold_runs)
                )
            except QuotaUnavailable as exc:  # pragma: no cover - the probe passed a moment ago
                raise SystemExit(f"CPU quota failed at {memory_mb} MB: {exc}") from exc
            sizes[name][str(memory_mb)] = figures
    shipped = sizes["shipped"]
    choice = lambda_cost.cheapest_size(
        (lambda_cost.SizeResult(int(mb), f["p95_ms"], f["usd_per_million"]["x86_64"]) for mb, f in shipped.items()),
        lambda_cost.P95_TARGET_MS,
    )
    return {
        "method": f"estimated, no CPU quota: {reason}" if reason else "cgroup CPU quota per size (100 ms period)",
        "prices": {
            "read": lambda_cost.PRICES_READ,
            "region": "us-east-1",
            "usd_per_gb_second": lambda_cost.PRICE_PER_GB_SECOND_USD,
            "usd_per_million_requests": lambda_cost.PRICE_PER_MILLION_REQUESTS_USD,
        },
        "calls": calls,
        "cold_runs": cold_runs,
        "p95_target_ms": lambda_cost.P95_TARGET_MS,
        "recommended_memory_mb": choice,
        "cheapest_usd_per_million_x86_64": {
            name: min(f["usd_per_million"]["x86_64"] for f in figures.values()) for name, figures in sizes.items()
        },
        "models": sizes,
    }


if __name__ == "__main__":
    warm_worker(Path(sys.argv[1]), int(sys.argv[2]))
