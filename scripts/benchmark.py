"""Speed, memory and size of the function (a benchmark, not a test): prints a table and JSON.

    python scripts/benchmark.py [--calls 200] [--skip-xception] [--skip-install]

- cold start: a fresh process from start to its first prediction (median of 5);
- warm latency of the handler for a 400 px JPEG given as bytes, p50/p95 over `calls`
  calls on one thread, and the model alone;
- requests per second through the local server at concurrency 1, 2 and 4;
- peak resident memory of a serving process; size of the runtime install and the model;
- the same handler with an Xception-299 TFLite model (random weights) as the baseline.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
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
# the output is the table and the JSON: no request records, no metrics (set before catbreed loads)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
sys.path.insert(0, str(ROOT / "scripts"))

from catbreed.gateway import Gateway  # noqa: E402
from catbreed.model import DEFAULT_MODEL_DIR, Classifier  # noqa: E402
from catbreed.preprocessing import image_to_input  # noqa: E402
from catbreed.service import Service  # noqa: E402
from catbreed_local.lambda_python import lambda_python  # noqa: E402

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


def cold_start(runs: int = 5) -> dict:
    walls, inside, rss = [], [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CATBREED_THREADS": "1"}
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD_START], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - started)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        inside.append(result["in_process_s"])
        rss.append(result["max_rss_mb"])
    return {
        "median_s": round(statistics.median(walls), 3),
        "import_and_first_call_s": round(statistics.median(inside), 3),
        "peak_rss_mb": round(max(rss), 1),
    }


def warm_latency(model_dir: Path, calls: int) -> dict:
    classifier = Classifier(model_dir, num_threads=1)
    gateway = Gateway(Service(classifier))
    event = {"image": base64.b64encode(photo_400px()).decode()}
    for _ in range(10):
        gateway.handle(dict(event))
    handler = []
    for _ in range(calls):
        started = time.perf_counter()
        body = gateway.handle(dict(event))
        handler.append(time.perf_counter() - started)
    assert len(body["predictions"]) == 5, body
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
        "model_bytes": (model_dir / "catbreed.tflite").stat().st_size,
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
        requirements = str(ROOT / "requirements-runtime.txt")
        subprocess.run([f"{tmp}/bin/python", "-m", "pip", "install", "-q", *offline, "-r", requirements], check=True)
        site = next(Path(tmp).glob("lib/python3*/site-packages"))
        subprocess.run(["sh", str(ROOT / "scripts" / "slim_runtime.sh"), str(site)], check=True)  # as the image does
        added = [p for p in site.iterdir() if not p.name.startswith(("pip", "setuptools", "_distutils_hack"))]
        size = sum(f.stat().st_size for p in added for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
        version = subprocess.run([f"{tmp}/bin/python", "--version"], capture_output=True, text=True).stdout.strip()
    return {"runtime_install_mb": round(size / 1e6, 1), "python": version}


def xception_model(directory: Path, breeds: int) -> Path:
    """An Xception-299 .tflite with random weights and our outputs, for the baseline."""
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import keras
from training.backbones import build_backbone
from training.train import export_model
import convert_model
backbone = build_backbone("xception", weights=None, input_size=299)
head = keras.layers.Dense({breeds})
head.build((None, 2048))
export_model(backbone, head, 1.0).save({str(directory / "model.keras")!r})
open({str(directory / "catbreed.tflite")!r}, "wb").write(convert_model.to_tflite({str(directory / "model.keras")!r}, "float32"))
"""
    subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    )
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    card.update(name="xception-299-random", file="catbreed.tflite")
    (directory / "model_card.json").write_text(json.dumps(card))
    return directory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--skip-xception", action="store_true")
    parser.add_argument("--skip-install", action="store_true")
    args = parser.parse_args(argv)
    os.environ["CATBREED_THREADS"] = "1"

    results: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    results["cold_start"] = cold_start()
    results["shipped"] = warm_latency(DEFAULT_MODEL_DIR, args.calls)
    results["server_requests_per_second"] = server_throughput()
    if not args.skip_install:
        results["install"] = runtime_install_size()
    if not args.skip_xception:
        with tempfile.TemporaryDirectory() as tmp:
            breeds = len(json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())["breeds"])
            results["xception_baseline"] = warm_latency(xception_model(Path(tmp), breeds), args.calls)
        results["speedup_vs_xception"] = round(
            results["xception_baseline"]["handler"]["p50_ms"] / results["shipped"]["handler"]["p50_ms"], 1
        )

    shipped, cold = results["shipped"], results["cold_start"]
    rows = [
        ("cold start, fresh process to first prediction (median of 5)", f"{cold['median_s'] * 1000:.0f} ms"),
        ("warm handler, 400 px JPEG as bytes, p50 / p95", f"{shipped['handler']['p50_ms']} / {shipped['handler']['p95_ms']} ms"),
        ("model only, p50 / p95", f"{shipped['model_only']['p50_ms']} / {shipped['model_only']['p95_ms']} ms"),
        *[
            (f"local server, requests/s at {k.replace('_', ' ')}", f"{v}")
            for k, v in results["server_requests_per_second"].items()
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
    out = ROOT / "artifacts" / "benchmark.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
