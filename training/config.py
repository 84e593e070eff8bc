"""What a training run is asked to do: every setting of `python -m training.train`, typed and
frozen, saved with the run (`config.json`, and as `settings` in report.json) and read back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The recipe of one run; the defaults are those of `make train` before its flags."""

    data: tuple[Path, ...]  # folder-per-breed roots or path,breed CSV manifests
    backbone: str = "efficientnet_lite2"
    weights: str | None = "imagenet"  # xception only: a local .h5, or None (random, for tests)
    input_size: int | None = None  # xception only (default 299)
    out: Path
    cache: Path | None = Path("runs/cache")
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    min_photos: int = 50  # breeds with fewer photos are left out
    max_hash_distance: int = 4  # pHash bits for a near-duplicate
    views: int = 2  # views of each training photo: the centre + random crops
    views_per_source: tuple[str, ...] = ()  # SOURCE=N: views of the photos of one root
    clean_labels: tuple[str, ...] = ()  # roots whose labels confident learning may flag
    flagged_weight: float = 0.0  # weight multiplier of a flagged photo
    c: float = 0.1  # inverse L2 strength of the initial head
    top_blocks: int = 6  # top blocks fine-tuned (head conv counts as one)
    finetune_epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 3e-4
    distill_weight: float = 1.0  # weight of keeping the ImageNet answers (the cat score); 0: off
    source_weight: tuple[str, ...] = ()  # SOURCE=WEIGHT: photos weighed by data root
    flip_tta: bool = False  # the model also looks at the mirrored photo
    calibration_photos: int = 512  # training photos kept for int8 calibration, evenly from every root

    def __post_init__(self) -> None:
        for spec, cast in ((self.views_per_source, int), (self.source_weight, float)):
            source_values(spec, cast)  # refuse a malformed pair before any work

    def settings(self) -> dict[str, Any]:
        """Every setting but the data roots, as JSON (report.json's `settings`)."""
        return {k: v for k, v in self.as_json().items() if k != "data"}

    def as_json(self) -> dict[str, Any]:
        """Every setting, paths as strings and tuples as lists."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TrainConfig:
        """Read back what `as_json` (or `settings`, without data) wrote, typed; a setting the
        run did not record takes its default."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        typed: dict[str, Any] = {"data": (), "out": Path()}
        for name, value in values.items():
            if name in known:
                typed[name] = _typed(known[name].type, value)
        return cls(**typed)

    def save(self, run: Path) -> None:
        (run / CONFIG_FILE).write_text(json.dumps(self.as_json(), indent=1) + "\n")

    @classmethod
    def load(cls, run: Path) -> TrainConfig:
        return cls.from_json(json.loads((run / CONFIG_FILE).read_text()))


def source_values(spec: tuple[str, ...] | list[str], cast: type) -> dict[str, Any]:
    """`SOURCE=VALUE` pairs (e.g. thumbs=1, petfinder=0.3) as {source: cast(value)}."""
    table = {}
    for item in spec:
        source, sep, value = item.partition("=")
        if not (source and sep and value):
            raise ValueError(f"{item!r} is not SOURCE=VALUE")
        table[source] = cast(value)
    return table


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _typed(annotation: str, value: Any) -> Any:
    """A JSON value as the field annotated `annotation` holds it (paths and tuples)."""
    if value is None:
        return None
    if annotation.startswith("tuple[Path"):
        return tuple(Path(v) for v in value)
    if annotation.startswith("tuple["):
        return tuple(value)
    if annotation.startswith("Path"):
        return Path(value)
    return value
