"""The runtime lock (requirements-runtime.lock) against what it locks and what it serves:
every pin of requirements-runtime.txt is in it at the same version for each architecture
the template offers, every entry is pinned exactly and hashed, and arm64 gets a LiteRT that
publishes aarch64 wheels. (catbreed_local/check_wheels.py asks the package index; this does not.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catbreed_local import check_wheels
from catbreed_local.check_wheels import architectures, lock_entries, pinned, pins_for, platforms
from catbreed_local.lock_runtime import top_level

ROOT = Path(__file__).resolve().parents[2]


def test_the_architectures_are_the_templates() -> None:
    text = (ROOT / "template.yaml").read_text()
    offered = re.search(r"  Architecture:\n(?:    .*\n)*?    AllowedValues: \[(.*)\]", text).group(1)
    assert architectures() == [a.strip() for a in offered.split(",")]
    assert set(architectures()) <= {"x86_64", "arm64"}


@pytest.mark.parametrize("architecture", architectures())
def test_every_top_level_pin_is_locked_at_its_version(architecture: str) -> None:
    locked = {p.split()[0] for p in pins_for(architecture)}
    for pin in top_level(architecture):
        name, version = pin.split("==")
        assert f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}" in locked, (architecture, pin)


@pytest.mark.parametrize("architecture", architectures())
def test_every_locked_package_is_pinned_exactly_and_hashed(architecture: str) -> None:
    pins = pins_for(architecture)
    names = [p.split("==")[0] for p in pins]
    assert len(names) == len(set(names)), "one version of each package per architecture"
    for pin in pins:
        assert re.fullmatch(r"[a-z0-9-]+==[0-9][\w.]* (--hash=sha256:[0-9a-f]{64} ?)+", pin), pin
    assert {"botocore", "s3transfer", "jmespath", "numpy", "ai-edge-litert"} <= set(names)  # transitive ones too


def test_arm64_gets_a_litert_release_with_aarch64_wheels() -> None:
    if "arm64" not in architectures():
        pytest.skip("the template offers no arm64")
    assert pinned("arm64", "ai-edge-litert") == "ai-edge-litert==1.4.0"  # 2.x has no aarch64 wheel
    assert pinned("x86_64", "ai-edge-litert") == "ai-edge-litert==2.3.0"
    assert all(p.endswith("_aarch64") for p in platforms("arm64"))
    assert any(entry.startswith("ai-edge-litert==1.4.0; platform_machine == \"aarch64\"") for entry in lock_entries())


def test_the_check_fails_on_a_missing_wheel_and_skips_without_an_index(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import subprocess

    def answer(stderr: str, code: int):
        return lambda architecture, pins, dest: subprocess.CompletedProcess([], code, "", stderr)

    missing = "ERROR: Could not find a version that satisfies the requirement ai-edge-litert==2.3.0 (from versions: 1.4.0)"
    monkeypatch.setattr(check_wheels, "download", answer(missing, 1))
    assert check_wheels.main([]) == 1
    assert "FAILED" in capsys.readouterr().out
    offline = "WARNING: Retrying ... Failed to establish a new connection: [Errno 101] Network is unreachable\nERROR: No matching"
    monkeypatch.setattr(check_wheels, "download", answer(offline, 1))
    assert check_wheels.main([]) == 0
    assert capsys.readouterr().out.startswith("SKIPPED: the package index cannot be reached")
