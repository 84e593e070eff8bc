"""What the benchmark measures in one process: the cold start, the warm handler and the model
alone, requests per second through the local server, the runtime's install size, the machine."""

from __future__ import annotations

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

from bench import load
from catbreed.gateway import Gateway
from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from catbreed.preprocessing import image_to_input
from catbreed.service import Service
from catbreed_local.lambda_python import lambda_python

ROOT = Path(__file__).resolve().parent.parent

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
    """The fixture cat as a 400 px JPEG (quality 90): the photo every timing classifies."""
    image = Image.open(ROOT / "tests" / "fixtures" / "cat_chelsea.jpg").convert("RGB")
    image.thumbnail((400, 400))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def percentiles(samples: list[float]) -> dict:
    """p50 and p95 of samples in seconds, as milliseconds."""
    ms = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def cold_start(runs: int = 5, model_dir: Path = DEFAULT_MODEL_DIR, preexec_fn=None) -> dict:
    """A fresh process from start to its first prediction: median wall time, import and first
    call inside it, and its peak resident memory."""
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
    """The warm handler and the model alone on one thread, p50/p95 over `calls` calls."""
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
    """Requests per second through the local server at each concurrency (bench/load.py)."""
    return {f"concurrency_{c}": load.run(requests, c, warmup=20, time_limit=300)["requests_per_second"] for c in levels}


def runtime_install_size() -> dict:
    """What the image's install step adds to site-packages, installed here in a scratch venv."""
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
