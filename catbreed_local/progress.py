"""A progress bar: tqdm's when it is installed (the dev setup), else one that shows nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class NoBar:
    """What bulk.py calls on a bar, doing nothing (the runtime-only setup has no tqdm)."""

    def __init__(self) -> None:
        self.total, self.n = 0, 0

    def update(self, count: int = 1) -> None:
        self.n += count

    def refresh(self) -> None: ...

    def close(self) -> None: ...


def progress(iterable: Iterable | None = None, **options: Any) -> Any:
    """tqdm(iterable, **options), or without tqdm the iterable itself (or a NoBar when there is none)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable if iterable is not None else NoBar()
    return tqdm(iterable, **options)
