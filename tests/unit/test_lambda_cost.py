"""What a Lambda memory size buys (its vCPU share, as a CFS quota) and what a million
predictions cost there, checked against values worked out by hand from AWS's price list, and
which size is the cheapest under the p95 target. (The template's default memory is that
choice: tests/infrastructure/test_cost_and_abuse_caps.py.)"""

from __future__ import annotations

import pytest

from bench.lambda_cost import (
    SizeResult,
    billed_ms,
    cfs_quota_us,
    cheapest_size,
    cost_per_million_usd,
    vcpu_share,
)


@pytest.mark.parametrize(
    ("memory_mb", "cpus", "quota_us"),
    [
        (1769, 2, 100_000),  # one full vCPU
        (512, 2, 28_943),  # 512 / 1769 of a period: 28,942.9 us
        (1024, 2, 57_886),
        (1536, 2, 86_829),
        (2048, 2, 115_772),  # above one vCPU the share keeps growing (Lambda adds vCPUs)
        (3008, 2, 170_040),
        (3008, 1, 100_000),  # never more than the machine has
        (10240, 2, 200_000),
    ],
)
def test_a_memory_size_becomes_its_share_of_a_100_ms_period(memory_mb: int, cpus: int, quota_us: int) -> None:
    assert cfs_quota_us(memory_mb, cpus) == quota_us


def test_one_vcpu_at_1769_mb_and_proportional_below() -> None:
    assert vcpu_share(1769) == 1.0
    assert vcpu_share(3538) == 2.0
    assert vcpu_share(512) == pytest.approx(0.28943, abs=1e-5)
    with pytest.raises(ValueError):
        vcpu_share(0)


def test_each_call_is_billed_rounded_up_to_the_millisecond() -> None:
    assert billed_ms([0.2, 1.0, 1.01]) == pytest.approx(4 / 3)  # 1 + 1 + 2 ms
    assert billed_ms([27.0, 27.0]) == 27.0
    with pytest.raises(ValueError):
        billed_ms([])


@pytest.mark.parametrize(
    ("memory_mb", "ms", "architecture", "usd"),
    [
        # 1 GB x 0.1 s x 1e6 = 100,000 GB-s at $0.0000166667, plus $0.20 of requests
        (1024, 100.0, "x86_64", 1.66667 + 0.20),
        (1024, 100.0, "arm64", 1.33334 + 0.20),
        # 0.5 GB x 0.03 s x 1e6 = 15,000 GB-s
        (512, 30.0, "x86_64", 0.2500005 + 0.20),
        # 2.9375 GB x 0.02 s x 1e6 = 58,750 GB-s
        (3008, 20.0, "arm64", 0.78333725 + 0.20),
    ],
)
def test_a_million_predictions_cost_duration_plus_requests(memory_mb: int, ms: float, architecture: str, usd: float) -> None:
    assert cost_per_million_usd(memory_mb, ms, architecture) == pytest.approx(usd, rel=1e-9)


def test_the_cheapest_size_under_the_p95_target_wins() -> None:
    results = [
        SizeResult(512, 260.0, 0.70),  # cheapest, but its p95 misses the target
        SizeResult(1024, 120.0, 0.80),
        SizeResult(1536, 90.0, 0.80),  # a tie on cost: the smaller memory wins
        SizeResult(3008, 40.0, 1.20),
    ]
    assert cheapest_size(results, 250) == 1024
    assert cheapest_size(results, 100) == 1536
    assert cheapest_size(results, 30) is None
