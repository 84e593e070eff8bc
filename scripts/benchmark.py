"""Speed, memory, size and cost of the function (a benchmark, not a test): prints tables and JSON.

    python scripts/benchmark.py [--calls 200] [--skip-xception] [--skip-install] [--skip-sizes]

- cold start: a fresh process from start to its first prediction (median of 5);
- warm latency of the handler for a 400 px JPEG given as bytes, p50/p95 over `calls`
  calls on one thread, and the model alone;
- requests per second through the local server at concurrency 1, 2 and 4;
- peak resident memory of a serving process; size of the runtime install and the model;
- the same handler with an Xception-299 TFLite model (random weights) as the baseline;
- at each Lambda memory size (512 to 3,008 MB), the warm handler and the cold start of both
  models under a CPU quota equal to that size's share of a vCPU (a cgroup of their own, see
  catbreed_local/cpu_quota.py), and what a million predictions cost there
  (catbreed_local/lambda_cost.py): a table, docs/lambda-cost.json and docs/lambda-cost.png.
  Without a CPU quota (not root, no cgroup cpu controller) it says so and estimates each
  size from the whole-core time instead (CPU-bound: time over the size's share).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from catbreed.gateway import Gateway  # noqa: E402
from catbreed.model import DEFAULT_MODEL_DIR, Classifier  # noqa: E402
from catbreed.preprocessing import image_to_input  # noqa: E402
from catbreed.service import Service  # noqa: E402
from catbreed_local import lambda_cost  # noqa: E402
from catbreed_local.cpu_quota import CpuQuota, QuotaUnavailable, unavailable  # noqa: E402
from catbreed_local.lambda_python import lambda_python  # noqa: E402

DOCS = ROOT / "docs"

COLD_START = """
import json, resource, time
started = time.perf_counter()
import lambda_function
body = lambda_function.lambda_handler(json.load(open("events/direct_image.json")), None)
assert len(body["predictions"]) == 5, body
print(json.dumps({"in_process_s": time.perf_counter() - started,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def photo_400px() -> bytes:
    image = Image.open(ROOT / "tests" / "fixtures" / "cat_chelsea.jpg").convert("RGB")
    image.thumbnail((400, 400))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def percentiles(samples: list[float]) -> dict:
    ms = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def cold_start(runs: int = 5, model_dir: Path = DEFAULT_MODEL_DIR, preexec_fn=None) -> dict:
    walls, inside, rss = [], [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATBREED_THREADS": "1", "CATBREED_MODEL_DIR": str(model_dir)}
    for _ in range(runs):
        started = time.perf_counter()
        command = [sys.executable, "-c", COLD_START]
        out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, preexec_fn=preexec_fn)
        walls.append(time.perf_counter() - started)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        inside.append(result["in_process_s"])
        rss.append(result["max_rss_mb"])
    return {
        "median_s": round(statistics.median(walls), 3),
        "import_and_first_call_s": round(statistics.median(inside), 3),
        "peak_rss_mb": round(max(rss), 1),
    }


def model_file(model_dir: Path) -> Path:
    """The model file its card names (whatever model/ ships: float32, int8, ...)."""
    return model_dir / json.loads((model_dir / "model_card.json").read_text())["file"]


def handler_samples(classifier: Classifier, calls: int, warmup: int = 10) -> list[float]:
    """Seconds per warm handler call for the 400 px JPEG as bytes."""
    gateway = Gateway(Service(classifier))
    event = {"image": base64.b64encode(photo_400px()).decode()}
    for _ in range(warmup):
        gateway.handle(dict(event))
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        body = gateway.handle(dict(event))
        samples.append(time.perf_counter() - started)
    assert len(body["predictions"]) == 5, body
    return samples


def warm_latency(model_dir: Path, calls: int) -> dict:
    classifier = Classifier(model_dir, num_threads=1)
    handler = handler_samples(classifier, calls)
    pixels = image_to_input(photo_400px(), classifier.input_size)
    model = []
    for _ in range(calls):
        started = time.perf_counter()
        classifier.predict_pixels(pixels)
        model.append(time.perf_counter() - started)
    return {
        "handler": percentiles(handler),
        "model_only": percentiles(model),
        "input_size": classifier.input_size,
        "model_bytes": model_file(model_dir).stat().st_size,
    }


def server_throughput(levels: tuple[int, ...] = (1, 2, 4), requests: int = 200) -> dict:
    from load_test import run

    return {f"concurrency_{c}": run(requests, c, warmup=20, time_limit=300)["requests_per_second"] for c in levels}


def runtime_install_size() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        python = lambda_python()
        if python is None:  # no Python 3.12 here: measure with this interpreter
            venv.create(tmp, with_pip=True)
        else:
            subprocess.run([python, "-m", "venv", tmp], check=True)
        wheels = ROOT / ".venv" / "wheels-runtime"
        offline = ["--no-index", "--find-links", str(wheels)] if wheels.is_dir() else []
        lock = ["--require-hashes", "--only-binary", ":all:", "-r", str(ROOT / "requirements-runtime.lock")]  # as the image does
        subprocess.run([f"{tmp}/bin/python", "-m", "pip", "install", "-q", *offline, *lock], check=True)
        site = next(Path(tmp).glob("lib/python3*/site-packages"))
        subprocess.run(["sh", str(ROOT / "scripts" / "slim_runtime.sh"), str(site)], check=True)  # as the image does
        added = [p for p in site.iterdir() if not p.name.startswith(("pip", "setuptools", "_distutils_hack"))]
        size = sum(f.stat().st_size for p in added for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
        version = subprocess.run([f"{tmp}/bin/python", "--version"], capture_output=True, text=True).stdout.strip()
    return {"runtime_install_mb": round(size / 1e6, 1), "python": version}


def xception_model(directory: Path, breeds: int) -> Path:
    """An Xception-299 .tflite with random weights and our outputs, for the baseline."""
    from training.model_card import MODEL_FILE

    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import keras
from training.backbones import build_backbone
from training.train import export_model
from training.export import to_tflite
backbone = build_backbone("xception", weights=None, input_size=299)
head = keras.layers.Dense({breeds})
head.build((None, 2048))
export_model(backbone, head, 1.0).save({str(directory / "model.keras")!r})
open({str(directory / MODEL_FILE)!r}, "wb").write(to_tflite({str(directory / "model.keras")!r}, "float32"))
"""
    subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    )
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    card.update(name="xception-299-random", file=MODEL_FILE)
    (directory / "model_card.json").write_text(json.dumps(card))
    return directory


def machine() -> dict:
    """What the figures were measured on: CPU model and count, Python, the date."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return {
        "cpu": models[0] if models else "unknown",
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }


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
            [sys.executable, __file__, "--warm-worker", str(model_dir), "--calls", str(calls)],
            env=env, capture_output=True, text=True, check=True, preexec_fn=quota.join,
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


def dollars(figures: dict) -> str:
    """Cost per million on x86_64 / arm64, for a table cell."""
    return f"${figures['usd_per_million']['x86_64']:.3f} / ${figures['usd_per_million']['arm64']:.3f}"


def print_sizes(table: dict) -> None:
    """One Markdown row per memory size (the README's cost table): both models' warm p50/p95,
    cold start and cost per million on x86_64 and arm64, and how many times cheaper we are."""
    models, machine = table["models"], table["machine"]
    print(
        f"\nLambda memory sizes: {table['method']}; {machine['cpu']}, {machine['cpus']} cores, {machine['date']}"
        f"{'; ' + table['note'] if table.get('note') else ''}; us-east-1 list prices read {table['prices']['read']}\n"
    )
    print(
        "| memory | vCPU | ours p50 / p95 | ours cold start | ours $/M x86_64 / arm64 "
        "| Xception p50 / p95 | Xception cold start | Xception $/M x86_64 / arm64 | cheaper |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for mb, ours in models["shipped"].items():
        row = (
            f"| {int(mb):,} MB | {lambda_cost.vcpu_share(int(mb)):.2f} | {ours['p50_ms']:.1f} / {ours['p95_ms']:.1f} ms"
            f" | {ours['cold_start_ms']:,} ms | {dollars(ours)} |"
        )
        base = models.get("xception", {}).get(mb)
        if base:
            cheaper = base["usd_per_million"]["x86_64"] / ours["usd_per_million"]["x86_64"]
            row += (
                f" {base['p50_ms']:.1f} / {base['p95_ms']:.1f} ms | {base['cold_start_ms']:,} ms"
                f" | {dollars(base)} | {cheaper:.1f}x |"
            )
        else:
            row += " | | | |"
        print(row)
    print(
        f"\ncheapest size with a warm p95 under {table['p95_target_ms']} ms: {table['recommended_memory_mb']} MB "
        "(template.yaml's MemorySize default follows it)"
    )
    if "xception" in models:
        best = table["cheapest_usd_per_million_x86_64"]
        print(
            f"each at its cheapest size: ${best['shipped']:.3f} vs ${best['xception']:.3f} per million on x86_64, "
            f"{best['xception'] / best['shipped']:.1f}x cheaper than the Xception baseline"
        )


def plot_sizes(table: dict, out: Path) -> None:
    """Warm p50 and cost per million against memory size, ours and the baseline, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {"shipped": ("shipped model", "tab:blue"), "xception": ("Xception-299 baseline", "tab:red")}
    for name, sizes in table["models"].items():
        label, color = labels[name]
        mbs = [int(mb) for mb in sizes]
        left.plot(mbs, [f["p50_ms"] for f in sizes.values()], "o-", color=color, label=f"{label}, p50")
        left.plot(mbs, [f["p95_ms"] for f in sizes.values()], "x--", color=color, label=f"{label}, p95")
        for arch, style in (("x86_64", "o-"), ("arm64", "s:")):
            values = [f["usd_per_million"][arch] for f in sizes.values()]
            right.plot(mbs, values, style, color=color, label=f"{label}, {arch}")
    left.axhline(table["p95_target_ms"], color="grey", linewidth=0.8)
    left.set(xlabel="Lambda memory (MB)", ylabel="warm handler (ms)", yscale="log", title="Time per prediction")
    right.set(xlabel="Lambda memory (MB)", ylabel="USD per million predictions", yscale="log", title="Cost per million")
    for axis in (left, right):
        axis.axvline(lambda_cost.MB_PER_VCPU, color="grey", linewidth=0.8, linestyle=":")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    note = f"; {table['note']}" if table.get("note") else ""
    fig.suptitle(f"catbreed on Lambda ({table['method']}{note})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    # the output is the table and the JSON: no request records, no metrics (here and in the
    # child processes; set in main, so that importing this module changes nothing)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("catbreed").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--skip-xception", action="store_true")
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--skip-server", action="store_true", help="leave out requests/s through the local server")
    parser.add_argument("--skip-sizes", action="store_true", help="leave out the Lambda memory sizes and their cost")
    parser.add_argument("--size-calls", type=int, default=40, help="warm calls per memory size, shipped model")
    parser.add_argument("--size-calls-xception", type=int, default=15, help="warm calls per memory size, baseline")
    parser.add_argument("--size-cold-runs", type=int, default=3, help="cold starts per memory size")
    parser.add_argument("--note", default="", help="a remark stored with the sizes' figures and shown on the plot")
    parser.add_argument("--warm-worker", type=Path, help=argparse.SUPPRESS)  # child of at_memory_size
    args = parser.parse_args(argv)
    os.environ["CATBREED_THREADS"] = "1"
    if args.warm_worker:
        warm_worker(args.warm_worker, args.calls)
        return

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

    shipped, cold = results["shipped"], results["cold_start"]
    rows = [
        ("cold start, fresh process to first prediction (median of 5)", f"{cold['median_s'] * 1000:.0f} ms"),
        ("warm handler, 400 px JPEG as bytes, p50 / p95", f"{shipped['handler']['p50_ms']} / {shipped['handler']['p95_ms']} ms"),
        ("model only, p50 / p95", f"{shipped['model_only']['p50_ms']} / {shipped['model_only']['p95_ms']} ms"),
        *[
            (f"local server, requests/s at {k.replace('_', ' ')}", f"{v}")
            for k, v in results.get("server_requests_per_second", {}).items()
        ],
        ("peak resident memory of a serving process", f"{cold['peak_rss_mb']} MB"),
        ("model file", f"{shipped['model_bytes'] / 1e6:.1f} MB ({shipped['input_size']} px input)"),
    ]
    if "install" in results:
        rows.append(
            (
                "runtime install (what the image adds to site-packages)",
                f"{results['install']['runtime_install_mb']} MB ({results['install']['python']})",
            )
        )
    if "xception_baseline" in results:
        x = results["xception_baseline"]
        rows.append(
            (
                "Xception-299 baseline: handler p50 / model p50",
                f"{x['handler']['p50_ms']} / {x['model_only']['p50_ms']} ms ({x['model_bytes'] / 1e6:.0f} MB)",
            )
        )
        rows.append(("shipped model is faster than Xception by", f"{results['speedup_vs_xception']}x"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if "lambda_sizes" in results:
        sizes = results["lambda_sizes"]
        at_one_vcpu = sizes["models"]["shipped"][str(lambda_cost.MB_PER_VCPU)]
        sizes["one_vcpu_vs_whole_core_p50"] = round(at_one_vcpu["p50_ms"] / shipped["handler"]["p50_ms"], 3)
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
