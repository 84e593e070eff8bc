"""What a Lambda memory size buys and costs: its share of a vCPU, and the price of a million
predictions at a measured duration (used by the benchmark, `python -m bench`, and the cost table of docs/benchmark.md).

Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB, a
proportional share below it, and more vCPUs above it (6 at 10,240 MB). Our handler runs one
inference thread, so above 1,769 MB it can still use only one of them: the benchmark gives
the process the whole share all the same (as Lambda does), and the measurement shows what a
single thread gains from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# The memory sizes `make bench` measures (MB).
MEMORY_SIZES_MB = (512, 1024, 1536, 1769, 2048, 3008)
# One full vCPU at this much memory (AWS Lambda documentation).
MB_PER_VCPU = 1769
# The template's default memory is the cheapest size whose warm handler p95 stays under this.
P95_TARGET_MS = 250
# The CFS period the CPU quota is expressed in (cpu.cfs_period_us, cgroup v2 cpu.max).
PERIOD_US = 100_000

# AWS Lambda list prices, us-east-1, first tier (the first 6 billion GB-seconds a month),
# on-demand, as AWS has published them since Graviton2 functions launched (2021). Written
# here on PRICES_READ from what we know of AWS's Lambda pricing page: this machine has no
# internet, so they were not re-read online that day. Check them before quoting a bill.
PRICES_READ = "2026-12-02"
PRICE_PER_GB_SECOND_USD = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_MILLION_REQUESTS_USD = 0.20
# Lambda bills duration rounded up to the next millisecond, memory in GB of 1,024 MB.
BILLING_GRANULARITY_MS = 1
MB_PER_GB = 1024


def vcpu_share(memory_mb: int) -> float:
    """The vCPUs Lambda gives a function of this memory (1.0 at 1,769 MB, proportional)."""
    if memory_mb <= 0:
        raise ValueError(f"memory must be positive, not {memory_mb}")
    return memory_mb / MB_PER_VCPU


def cfs_quota_us(memory_mb: int, cpus: int, period_us: int = PERIOD_US) -> int:
    """The CFS quota (microseconds of CPU per period) that gives a process this memory
    size's vCPU share on a machine of `cpus` cores (never more than the machine has)."""
    return round(min(vcpu_share(memory_mb), cpus) * period_us)


def billed_ms(durations_ms: Iterable[float]) -> float:
    """The mean billed duration: each call rounded up to Lambda's billing granularity."""
    billed = [math.ceil(d / BILLING_GRANULARITY_MS) * BILLING_GRANULARITY_MS for d in durations_ms]
    if not billed:
        raise ValueError("no durations")
    return sum(billed) / len(billed)


def cost_per_million_usd(memory_mb: int, mean_billed_ms: float, architecture: str) -> float:
    """What a million warm predictions cost: the duration charge at this memory plus the
    request charge (list prices above; free tier and cold starts left out)."""
    gb_seconds = (memory_mb / MB_PER_GB) * (mean_billed_ms / 1000) * 1_000_000
    return gb_seconds * PRICE_PER_GB_SECOND_USD[architecture] + PRICE_PER_MILLION_REQUESTS_USD


@dataclass(frozen=True)
class SizeResult:
    """One memory size as measured: warm handler p95 and the x86_64 cost per million."""

    memory_mb: int
    p95_ms: float
    cost_per_million_usd: float


def cheapest_size(results: Iterable[SizeResult], p95_target_ms: float) -> int | None:
    """The memory size with the lowest cost whose warm p95 stays under the target (the
    smaller memory on a tie); None when no size meets it."""
    meeting = [r for r in results if r.p95_ms < p95_target_ms]
    if not meeting:
        return None
    return min(meeting, key=lambda r: (r.cost_per_million_usd, r.memory_mb)).memory_mb
