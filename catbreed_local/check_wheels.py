"""Every pin of requirements-runtime.lock has a wheel, with the locked hash, for each
architecture template.yaml offers (`Architecture`'s AllowedValues), on Lambda's Python 3.12.

    python -m catbreed_local.check_wheels     # exit 0: all there; 1: a pin has no wheel; 0 with SKIPPED: no index
    python -m catbreed_local.check_wheels --pin arm64 ai-edge-litert    # prints that pin (name==version), or nothing

Each architecture's pins (markers evaluated for that machine, not this one) are fetched with
`pip download --no-deps --only-binary :all: --require-hashes --platform ...` into a scratch
folder. When the package index cannot be reached (no network), it says so and skips.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from packaging.markers import Marker

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-runtime.lock"
TEMPLATE = ROOT / "template.yaml"
PYTHON_VERSION = "3.12"  # Lambda's runtime (Dockerfile: public.ecr.aws/lambda/python:3.12)
# Lambda's python3.12 image is Amazon Linux 2023 (glibc 2.34): wheels for glibc 2.17 to 2.34.
GLIBC = ("2_34", "2_28", "2_27", "2_17")
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}  # the template's names -> platform_machine
NO_INDEX = re.compile(r"Failed to establish a new connection|Temporary failure in name resolution|Network is unreachable|"
                      r"ConnectTimeout|ProxyError|No route to host|Could not fetch URL")


class _IgnoreTags(yaml.SafeLoader):
    """YAML that reads CloudFormation's !Ref, !Sub, ... as None (only plain values are needed)."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_parameters(template: Path = TEMPLATE) -> dict:
    """The template's parameters, as written (plain values only)."""
    return yaml.load(template.read_text(), Loader=_IgnoreTags)["Parameters"]


def architectures(template: Path = TEMPLATE) -> list[str]:
    """The architectures the template lets a deployment pick."""
    return list(template_parameters(template)["Architecture"]["AllowedValues"])


def platforms(architecture: str) -> list[str]:
    """pip --platform tags of Lambda's Linux for an architecture."""
    machine = MACHINES[architecture]
    return [f"manylinux_{glibc}_{machine}" for glibc in GLIBC] + [f"manylinux2014_{machine}"]


def lock_entries(lock: Path = LOCK) -> list[str]:
    """The lock's requirements, one string each (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", lock.read_text())
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def pins_for(architecture: str, lock: Path = LOCK) -> list[str]:
    """The lock's entries that apply on that architecture's Lambda, markers removed."""
    environment = {"platform_machine": MACHINES[architecture], "sys_platform": "linux", "platform_system": "Linux",
                   "python_version": PYTHON_VERSION, "python_full_version": f"{PYTHON_VERSION}.0",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython", "os_name": "posix"}
    pins = []
    for entry in lock_entries(lock):
        requirement, _, hashes = entry.partition(" --hash")
        name, _, marker = requirement.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(environment):
            continue
        pins.append(f"{name.strip()} --hash{hashes}")
    return pins


def download(architecture: str, pins: list[str], dest: Path) -> subprocess.CompletedProcess:
    """pip download of exactly these hashed pins, as wheels for that architecture."""
    requirements = dest / f"requirements-{architecture}.txt"
    requirements.write_text("\n".join(pins) + "\n")
    command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
               "--only-binary", ":all:", "--require-hashes", "--python-version", PYTHON_VERSION,
               "--implementation", "cp", "-d", str(dest / architecture), "-r", str(requirements)]
    for platform in platforms(architecture):
        command += ["--platform", platform]
    return subprocess.run(command, capture_output=True, text=True)


def pinned(architecture: str, package: str) -> str:
    """`name==version` of one package on that architecture, or "" (the template does not offer it)."""
    if architecture not in architectures():
        return ""
    return next((p.split()[0] for p in pins_for(architecture) if p.split("==")[0] == package), "")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pin"]:
        print(pinned(argv[1], argv[2]))
        return 0
    failed = []
    with tempfile.TemporaryDirectory() as scratch:
        for architecture in architectures():
            pins = pins_for(architecture)
            result = download(architecture, pins, Path(scratch))
            if result.returncode != 0 and NO_INDEX.search(result.stderr):
                print(f"SKIPPED: the package index cannot be reached from here, so the wheels were not checked "
                      f"({NO_INDEX.search(result.stderr).group(0)})")
                return 0
            if result.returncode != 0:
                failed.append(architecture)
                print(f"{architecture}: FAILED, a pin has no wheel for Python {PYTHON_VERSION} or its hash differs:")
                print(result.stderr.strip()[-2000:])
                continue
            wheels = sorted(p.name for p in (Path(scratch) / architecture).glob("*.whl"))
            print(f"{architecture}: {len(pins)} pins, {len(wheels)} wheels, hashes match")
            for wheel in wheels:
                print(f"  {wheel}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
