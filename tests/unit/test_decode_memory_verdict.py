"""What the decode-memory benchmark says of its worst peak, at the memory sizes template.yaml's
MemorySize allows: it fits from the least up, and is under half from twice the peak up."""

from __future__ import annotations

from bench.decode_memory import memory_verdict
from catbreed_local.check_wheels import template_parameters

MEMORY_SIZE = template_parameters()["MemorySize"]


def test_the_measured_peak_fits_the_least_size_but_is_under_half_only_from_twice_it() -> None:
    said = memory_verdict(391.0, MEMORY_SIZE)  # the worst accepted photo, as docs/benchmark.md reports it
    assert said.startswith("fits every size") and f"default {MEMORY_SIZE['Default']:,}" in said
    assert "121 MB to spare at 512 MB" in said and "from 782 MB up, the default included" in said


def test_a_peak_above_the_least_size_is_said_not_to_fit() -> None:
    said = memory_verdict(600.0, MEMORY_SIZE)
    assert said.startswith("does NOT fit below 600 MB")


def test_a_default_under_twice_the_peak_is_named() -> None:
    said = memory_verdict(800.0, {"MinValue": 1024, "Default": 1536, "MaxValue": 10240})
    assert "from 1,600 MB up, not at the default, 1,536 MB" in said
