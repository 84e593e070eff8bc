"""Run a process under a CPU quota, as Lambda's memory sizes do: a cgroup of its own whose CFS
quota is a share of each 100 ms period (cgroup v1 `cpu.cfs_quota_us`, or cgroup v2 `cpu.max`).
Needs root and a writable cgroup cpu controller; `unavailable()` says why not.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType

from bench.lambda_cost import PERIOD_US

V1_CPU = Path("/sys/fs/cgroup/cpu")
V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))


class QuotaUnavailable(RuntimeError):
    """This machine cannot give a process a CPU quota (not root, no cpu controller)."""


def _v2_root() -> Path | None:
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        if controllers.is_file() and "cpu" in controllers.read_text().split():
            return root
    return None


class CpuQuota:
    """A cgroup with `quota_us` of CPU per `period_us`; `join` puts the calling process in
    it (pass it as `preexec_fn`, so a child is throttled from its first instruction).
    Removed on exit, once its processes have ended."""

    def __init__(self, name: str, quota_us: int, period_us: int = PERIOD_US) -> None:
        if quota_us <= 0 or period_us <= 0:
            raise ValueError("quota and period must be positive")
        self.quota_us, self.period_us = quota_us, period_us
        v2 = _v2_root()
        if (V1_CPU / "cpu.cfs_quota_us").is_file():
            self.path, self.version = V1_CPU / name, 1
        elif v2 is not None:
            self.path, self.version = v2 / name, 2
        else:
            raise QuotaUnavailable("no cgroup cpu controller (neither v1 /sys/fs/cgroup/cpu nor cpu in cgroup v2)")

    def __enter__(self) -> CpuQuota:
        try:
            self.path.mkdir(exist_ok=True)
            if self.version == 1:
                (self.path / "cpu.cfs_period_us").write_text(str(self.period_us))
                (self.path / "cpu.cfs_quota_us").write_text(str(self.quota_us))
            else:  # cgroup v2: the parent must hand the cpu controller down to its children
                subtree = self.path.parent / "cgroup.subtree_control"
                if "cpu" not in subtree.read_text().split():
                    subtree.write_text("+cpu")
                (self.path / "cpu.max").write_text(f"{self.quota_us} {self.period_us}")
        except OSError as exc:
            self._remove()
            raise QuotaUnavailable(f"cannot set a CPU quota in {self.path}: {exc.strerror or exc}") from exc
        return self

    def join(self) -> None:
        """Move the calling process into this cgroup."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def throttled_us(self) -> int:
        """How long the cgroup's processes waited for the quota so far (microseconds)."""
        stats = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stats["throttled_time"]) // 1000 if self.version == 1 else int(stats["throttled_usec"])

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._remove()

    def _remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


def unavailable() -> str | None:
    """Why a CPU quota cannot be set here, or None when it can (tries one and removes it)."""
    try:
        with CpuQuota(f"catbreed-probe-{os.getpid()}", PERIOD_US // 2):
            return None
    except QuotaUnavailable as exc:
        return str(exc)
