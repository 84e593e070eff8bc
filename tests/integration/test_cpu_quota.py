"""The benchmark's CPU quota: a child process started with `CpuQuota.join` runs inside a
cgroup of its own whose quota is the memory size's share, and the cgroup is gone afterwards.
Skipped, with the reason, where this machine gives no CPU quota (not root, no controller);
the benchmark then estimates each size from the whole-core time (tests/unit/test_bench_sizes.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.cpu_quota import CpuQuota, unavailable
from bench.lambda_cost import cfs_quota_us

ROOT = Path(__file__).resolve().parents[2]
REASON = unavailable()


@pytest.mark.skipif(REASON is not None, reason=f"no CPU quota on this machine: {REASON}")
def test_a_child_runs_under_the_quota_of_its_memory_size() -> None:
    quota_us = cfs_quota_us(512, 2)
    with CpuQuota("catbreed-test-quota", quota_us) as quota:
        if quota.version == 1:
            assert (quota.path / "cpu.cfs_quota_us").read_text().strip() == str(quota_us)
            assert (quota.path / "cpu.cfs_period_us").read_text().strip() == "100000"
        else:
            assert (quota.path / "cpu.max").read_text().split() == [str(quota_us), "100000"]
        child = subprocess.run(
            [sys.executable, "-c", "print(open('/proc/self/cgroup').read())"],
            capture_output=True, text=True, check=True, preexec_fn=quota.join,
        )
        assert f"/{quota.path.name}\n" in child.stdout
        assert quota.throttled_us() >= 0
        path = quota.path
    assert not path.exists()
