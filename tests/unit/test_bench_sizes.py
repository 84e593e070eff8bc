"""The benchmark without a CPU quota (not root, no cgroup cpu controller): each Lambda memory
size is estimated from the whole-core time, as if the handler were CPU-bound throughout.
(With a quota, the child processes run in a cgroup: tests/integration/test_cpu_quota.py.)"""

from __future__ import annotations

import pytest

from bench.sizes import estimated_at_memory_size


def test_without_a_quota_each_size_is_estimated_from_the_whole_core_time() -> None:
    whole_core = {"handler_ms": [10.0] * 19 + [20.0], "cold_s": 0.5}
    at_512 = estimated_at_memory_size(512, whole_core)
    assert at_512["estimated"] is True
    assert at_512["p50_ms"] == pytest.approx(10 * 1769 / 512, abs=0.01)  # CPU-bound: time over the share
    assert at_512["cold_start_ms"] == round(500 * 1769 / 512)
    at_3008 = estimated_at_memory_size(3008, whole_core)
    assert at_3008["p50_ms"] == 10.0  # one thread gains nothing past one vCPU
    assert at_3008["usd_per_million"]["x86_64"] > at_512["usd_per_million"]["x86_64"]
