"""The container's install step, proven in a plain venv: only requirements-runtime.lock, with
the Dockerfile's --require-hashes --only-binary :all:, on Lambda's Python (3.12) where this
machine has it, and the handler answers from it. And the LiteRT release the arm64 image runs
(the lock's aarch64 line) gives the shipped model's answers (this machine's build of it)."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catbreed.model import DEFAULT_MODEL_DIR
from catbreed_local.check_wheels import pinned, pins_for
from catbreed_local.lambda_python import lambda_python

ROOT = Path(__file__).resolve().parents[2]
WHEELS = ROOT / ".venv" / "wheels-runtime"

LAMBDA_PYTHON = lambda_python()

SCRIPT = """
import importlib.util, json, sys
import lambda_function
event = json.load(open("events/direct_image.json"))
body = lambda_function.lambda_handler(event, None)
bad = lambda_function.lambda_handler({"url": "file:///etc/passwd"}, None)
print(json.dumps({
    "python": sys.version.split()[0],
    "body": body,
    "bad": bad,
    "training_packages": [m for m in ("tensorflow", "torch", "keras", "sklearn") if importlib.util.find_spec(m)],
}))
"""


def runtime_venv(env_dir: Path) -> Path:
    """A plain venv on Lambda's Python (this one's where there is none); its python."""
    if LAMBDA_PYTHON:
        subprocess.run([LAMBDA_PYTHON, "-m", "venv", str(env_dir)], check=True)
    else:  # pragma: no cover - machines without 3.12 use this interpreter
        venv.create(env_dir, with_pip=True)
    return env_dir / "bin" / "python"


def offline_install(python: Path, *arguments: str) -> subprocess.CompletedProcess:
    """pip install from the wheels scripts/setup.sh downloaded, nothing from the network."""
    assert WHEELS.is_dir(), "run scripts/setup.sh dev first: it downloads the wheels this test installs offline"
    command = [str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(WHEELS), *arguments]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.mark.slow
def test_the_runtime_requirements_alone_serve_the_handler(tmp_path: Path) -> None:
    env_dir = tmp_path / "runtime-venv"
    python = runtime_venv(env_dir)
    install = offline_install(python, "--require-hashes", "--only-binary", ":all:", "-r", str(ROOT / "requirements-runtime.lock"))
    assert install.returncode == 0, install.stderr[-3000:]
    site = next(env_dir.glob("lib/python3*/site-packages"))
    subprocess.run(["sh", str(ROOT / "scripts" / "slim_runtime.sh"), str(site)], check=True)  # as the Dockerfile does
    run = subprocess.run(
        [str(python), "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if LAMBDA_PYTHON:
        assert result["python"].startswith("3.12")
    assert result["training_packages"] == []
    assert len(result["body"]["predictions"]) == 5 and result["body"]["is_cat"] is True
    assert result["bad"]["error"]["code"] == "invalid_url"
    print(f"runtime venv on Python {result['python']}", file=sys.stderr)


ANSWERS = """
import json, sys
from pathlib import Path
from catbreed.model import Classifier
import ai_edge_litert
classifier = Classifier(sys.argv[1])
answers = {p.name: classifier.predict(p.read_bytes()) for p in sorted(Path("tests/fixtures").glob("*.jpg"))}
print(json.dumps({"answers": {name: [a.probabilities.tolist(), a.cat_score] for name, a in answers.items()},
                  "litert": ai_edge_litert.__file__}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not pinned("arm64", "ai-edge-litert"), reason="the template offers no arm64")
def test_the_arm64_images_litert_gives_the_shipped_models_answers(tmp_path: Path, classifier: Any) -> None:
    """arm64 runs an older LiteRT (2.x has no aarch64 wheel); its x86_64 build of the same
    release, on every fixture photo: the same top breed and cat call, probabilities within 1e-4."""
    arm64_litert = pinned("arm64", "ai-edge-litert")
    assert arm64_litert != pinned("x86_64", "ai-edge-litert")  # otherwise the other test covers it
    python = runtime_venv(tmp_path / "arm64-litert")
    pins = [arm64_litert, *(p.split()[0] for p in pins_for("arm64") if p.split("==")[0] in ("numpy", "pillow"))]
    install = offline_install(python, "--only-binary", ":all:", *pins)
    assert install.returncode == 0, install.stderr[-3000:]
    run = subprocess.run(
        [str(python), "-c", ANSWERS, str(DEFAULT_MODEL_DIR)],
        cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert str(tmp_path) in result["litert"]  # the venv's LiteRT, not this one's
    assert len(result["answers"]) >= 6
    for name, (probabilities, cat_score) in result["answers"].items():
        ours = classifier.predict((ROOT / "tests" / "fixtures" / name).read_bytes())
        theirs = np.array(probabilities)
        assert int(np.argmax(theirs)) == int(np.argmax(ours.probabilities)), name
        assert np.abs(theirs - ours.probabilities).max() <= 1e-4, name
        assert abs(cat_score - ours.cat_score) <= 1e-4, name
        assert (cat_score >= classifier.cat_threshold) == classifier.is_cat(ours), name
