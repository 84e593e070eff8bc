"""Write requirements-runtime.lock: requirements-runtime.txt fully resolved for Lambda's
Python 3.12 on each architecture the template offers, every package pinned with the sha256
of its wheel (the Dockerfile installs it with --require-hashes --only-binary :all:).

    python -m catbreed_local.lock_runtime     # needs the package index; then python -m catbreed_local.check_wheels

A package whose version differs between architectures gets one line per machine, with a
`platform_machine` marker.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from catbreed_local.check_wheels import LOCK, MACHINES, PYTHON_VERSION, ROOT, architectures, platforms
from catbreed_local.lambda_python import lambda_python

REQUIREMENTS = ROOT / "requirements-runtime.txt"
# pip of Lambda's Python where this machine has it, so python_version markers of the
# dependencies are read as 3.12 would read them
PIP_PYTHON = lambda_python() or sys.executable


def top_level(architecture: str) -> list[str]:
    """requirements-runtime.txt's pins that apply on that architecture, markers removed."""
    environment = {"platform_machine": MACHINES[architecture], "python_version": PYTHON_VERSION, "sys_platform": "linux"}
    pins = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            pins.append(f"{requirement.name}{requirement.specifier}")
    return pins


def resolve(architecture: str, dest: Path) -> dict[str, tuple[str, str]]:
    """{package: (version, sha256)} of every wheel pip picks for that architecture."""
    dest.mkdir(parents=True, exist_ok=True)
    requirements = dest.parent / f"requirements-{architecture}.txt"
    requirements.write_text("\n".join(top_level(architecture)) + "\n")
    command = [PIP_PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--only-binary", ":all:",
               "--python-version", PYTHON_VERSION, "--implementation", "cp", "-d", str(dest), "-r", str(requirements)]
    for platform in platforms(architecture):
        command += ["--platform", platform]
    subprocess.run(command, check=True)
    resolved = {}
    for wheel in sorted(dest.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        resolved[canonicalize_name(name)] = (str(version), hashlib.sha256(wheel.read_bytes()).hexdigest())
    return resolved


def lock_text(by_architecture: dict[str, dict[str, tuple[str, str]]]) -> str:
    """The lock file: one line per package (and version), all its wheels' hashes."""
    versions: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (name, version) -> {arch: sha256}
    for architecture, resolved in by_architecture.items():
        for name, (version, sha256) in resolved.items():
            versions[(name, version)][architecture] = sha256
    lines = [
        "# requirements-runtime.txt resolved for Lambda's Python 3.12 on "
        + " and ".join(by_architecture) + ", with the sha256 of every wheel.",
        "# Written by catbreed_local/lock_runtime.py; do not edit. Checked by catbreed_local/check_wheels.py.",
    ]
    for (name, version), hashes in sorted(versions.items()):
        marker = ""
        if set(hashes) != set(by_architecture):  # this version only on some architectures
            marker = " or ".join(f'platform_machine == "{MACHINES[a]}"' for a in sorted(hashes))
            marker = f"; {marker}"
        options = "".join(f" \\\n    --hash=sha256:{h}" for h in sorted(set(hashes.values())))
        lines.append(f"{name}=={version}{marker}{options}")
    return "\n".join(lines) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        by_architecture = {arch: resolve(arch, Path(scratch) / arch) for arch in architectures()}
    LOCK.write_text(lock_text(by_architecture))
    print(f"wrote {LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
