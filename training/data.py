"""Reading labelled photos (folder-per-breed roots and CSV manifests), dropping
near-duplicates, and a stratified, seeded, leak-free train/validation/test split."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from sklearn.model_selection import train_test_split

from catbreed.errors import UnsupportedImage
from catbreed.preprocessing import load_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}


@dataclass(frozen=True)
class Sample:
    """One labelled photo; `source` names the data root it came from (for per-root metrics)."""

    path: Path
    breed: str
    source: str


def display_name(folder_name: str) -> str:
    """`Maine_Coon` -> `Maine Coon`."""
    return " ".join(folder_name.replace("_", " ").split())


def read_folder_root(root: Path) -> list[Sample]:
    """Photos laid out as `<root>/<Breed>/*.jpg`; the root's folder name is the source."""
    root = Path(root)
    samples = []
    for breed_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(breed_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                samples.append(Sample(path, display_name(breed_dir.name), root.name))
    return samples


def read_manifest(manifest: Path) -> list[Sample]:
    """A CSV with a `path,breed` header; relative paths are relative to the CSV's folder."""
    manifest = Path(manifest)
    samples = []
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"path", "breed"} <= set(reader.fieldnames):
            raise ValueError(f"{manifest}: the header must name the columns path,breed")
        for row in reader:
            path = Path(row["path"])
            if not path.is_absolute():
                path = manifest.parent / path
            samples.append(Sample(path, display_name(row["breed"]), manifest.stem))
    return samples


def read_sources(sources: list[Path]) -> list[Sample]:
    """Each source is a folder-per-breed root or a `.csv` manifest."""
    samples: list[Sample] = []
    for source in map(Path, sources):
        samples += read_manifest(source) if source.suffix.lower() == ".csv" else read_folder_root(source)
    return samples


def perceptual_hash(path: Path) -> int | None:
    """64-bit pHash of a photo, or None when it cannot be read."""
    try:
        image = load_image(path.read_bytes())
    except (OSError, UnsupportedImage):
        return None
    return int(str(imagehash.phash(image)), 16)


def cached_hashes(samples: list[Sample], cache: Path | None) -> list[int | None]:
    """pHashes of the samples, reusing those in the JSON `cache` whose file size and
    modification time still match (hashing 10,000 photos takes a minute)."""
    known = json.loads(cache.read_text()) if cache and cache.exists() else {}
    hashes = []
    for sample in samples:
        stat = sample.path.stat() if sample.path.exists() else None
        key = f"{sample.path}|{stat.st_size}|{stat.st_mtime_ns}" if stat else str(sample.path)
        if key not in known:
            known[key] = perceptual_hash(sample.path)
        hashes.append(known[key])
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known))
    return hashes


def drop_near_duplicates(samples: list[Sample], max_distance: int = 4, cache: Path | None = None) -> list[Sample]:
    """Keep the first photo of every group whose pHashes differ in at most `max_distance`
    bits, whatever their breeds (unreadable photos are dropped too), so that no photo can
    sit on two sides of a split."""
    hashes = cached_hashes(samples, cache)
    readable = [i for i, h in enumerate(hashes) if h is not None]
    if not readable:
        return []
    bits = np.unpackbits(np.array([hashes[i] for i in readable], dtype=">u8").view(np.uint8).reshape(-1, 8), axis=1)
    kept: list[int] = []
    kept_bits = np.empty_like(bits)
    for row, index in enumerate(readable):
        if kept and (np.count_nonzero(kept_bits[: len(kept)] != bits[row], axis=1) <= max_distance).any():
            continue
        kept_bits[len(kept)] = bits[row]
        kept.append(index)
    return [samples[i] for i in kept]


def split(
    samples: list[Sample], val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """Stratified (by breed and source), seeded train/validation/test split. Recipe choices,
    the temperature and thresholds are fitted on validation; test is only ever reported."""

    def strata(part: list[Sample]) -> list[str]:
        keys = [f"{s.breed}|{s.source}" for s in part]
        counts = Counter(keys)
        keys = [k if counts[k] >= 2 else "rare" for k in keys]
        if keys.count("rare") == 1:  # a lone rare photo joins the largest stratum
            keys[keys.index("rare")] = counts.most_common(1)[0][0]
        return keys

    rest, test = train_test_split(samples, test_size=test_fraction, random_state=seed, stratify=strata(samples))
    share = val_fraction / (1 - test_fraction)
    train, val = train_test_split(rest, test_size=share, random_state=seed, stratify=strata(rest))
    return list(train), list(val), list(test)
