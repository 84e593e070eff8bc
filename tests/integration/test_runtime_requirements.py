"""The container's install step, proven in a plain venv: only requirements-runtime.txt,
on Lambda's Python (3.12) where this machine has it, and the handler answers from it."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from catbreed_local.lambda_python import lambda_python

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.slow
def test_the_runtime_requirements_alone_serve_the_handler(tmp_path: Path) -> None:
    env_dir = tmp_path / "runtime-venv"
    if LAMBDA_PYTHON:
        subprocess.run([LAMBDA_PYTHON, "-m", "venv", str(env_dir)], check=True)
    else:  # pragma: no cover - machines without 3.12 use this interpreter
        venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    wheels = ROOT / ".venv" / "wheels-runtime"
    assert wheels.is_dir(), "run scripts/setup.sh dev first: it downloads the wheels this test installs offline"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheels),
            "-r",
            str(ROOT / "requirements-runtime.txt"),
        ],
        capture_output=True,
        text=True,
    )
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
