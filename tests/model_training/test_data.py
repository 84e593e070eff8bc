"""The photo readers, near-duplicate removal and the leak-free split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import data


def test_folder_root_reads_every_photo_with_readable_breed_names(tiny_root: Path) -> None:
    samples = data.read_folder_root(tiny_root)
    assert len(samples) == 31
    assert {s.breed for s in samples} == {"Red Tabby", "Blue Point", "Green Eyed"}
    assert {s.source for s in samples} == {"tiny"}


def test_manifest_reads_relative_and_absolute_paths(tiny_root: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "extra.csv"
    absolute = tiny_root / "Blue_Point" / "03.jpg"
    relative = Path("photos") / "a.jpg"
    (tmp_path / "photos").mkdir()
    (tmp_path / relative).write_bytes(absolute.read_bytes())
    manifest.write_text(f"path,breed\n{relative},Maine_Coon\n{absolute},Blue Point\n")
    samples = data.read_manifest(manifest)
    assert [(s.path, s.breed, s.source) for s in samples] == [
        (tmp_path / relative, "Maine Coon", "extra"),
        (absolute, "Blue Point", "extra"),
    ]
    both = data.read_sources([tiny_root, manifest])
    assert len(both) == 33


def test_manifest_without_the_right_header_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.csv"
    manifest.write_text("file,label\na.jpg,x\n")
    with pytest.raises(ValueError, match="path,breed"):
        data.read_manifest(manifest)


def test_near_duplicates_and_unreadable_files_are_dropped(tiny_root: Path, tmp_path: Path) -> None:
    samples = data.read_folder_root(tiny_root)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    unique = data.drop_near_duplicates([*samples, data.Sample(broken, "Red Tabby", "tiny")])
    names = {(s.breed, s.path.name) for s in unique}
    assert ("Red Tabby", "dup.jpg") not in names  # the copy of 00.jpg
    assert ("Red Tabby", "00.jpg") in names
    assert all(s.path != broken for s in unique)
    assert len(unique) == 30


def test_near_duplicates_across_breeds_are_dropped_too(tiny_root: Path, tmp_path: Path) -> None:
    original = tiny_root / "Blue_Point" / "04.jpg"
    copy = tmp_path / "relabelled.jpg"
    copy.write_bytes(original.read_bytes())
    samples = [*data.read_folder_root(tiny_root), data.Sample(copy, "Red Tabby", "other")]
    unique = data.drop_near_duplicates(samples)
    assert copy not in {s.path for s in unique}
    assert original in {s.path for s in unique}


def test_hashes_are_cached_and_reused(tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "phash.json"
    first = data.drop_near_duplicates(data.read_folder_root(tiny_root), cache=cache)
    assert len(json.loads(cache.read_text())) == 31

    def no_hashing(path: Path) -> None:
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(data, "perceptual_hash", no_hashing)
    assert data.drop_near_duplicates(data.read_folder_root(tiny_root), cache=cache) == first


def test_split_is_stratified_seeded_and_leak_free(tiny_root: Path) -> None:
    samples = data.drop_near_duplicates(data.read_folder_root(tiny_root))
    train, val, test = data.split(samples, val_fraction=0.2, test_fraction=0.2, seed=7)
    again = data.split(samples, val_fraction=0.2, test_fraction=0.2, seed=7)
    assert [[s.path for s in side] for side in again] == [[s.path for s in side] for side in (train, val, test)]
    paths = [{s.path for s in side} for side in (train, val, test)]
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])
    assert len(train) + len(val) + len(test) == len(samples) == 30
    for side in (val, test):
        assert {b: sum(s.breed == b for s in side) for b in {s.breed for s in samples}} == dict.fromkeys(
            {s.breed for s in samples}, 2
        )


def test_no_near_duplicate_pair_sits_on_two_sides_of_the_split(tiny_root: Path, tmp_path: Path) -> None:
    """A photo saved again (re-encoded, under another breed) never lands across sides."""
    from PIL import Image

    samples = data.read_folder_root(tiny_root)
    for i, sample in enumerate(samples[:12]):
        again = tmp_path / f"again_{i}.jpg"
        Image.open(sample.path).save(again, quality=70)
        samples.append(data.Sample(again, "Green Eyed", "other"))
    unique = data.drop_near_duplicates(samples)
    hashes = {s.path: data.perceptual_hash(s.path) for s in unique}
    train, val, test = data.split(unique, 0.2, 0.2, seed=0)
    side_of = {s.path: n for n, side in enumerate((train, val, test)) for s in side}
    paths = list(hashes)
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if bin(hashes[a] ^ hashes[b]).count("1") <= 4:
                assert side_of[a] == side_of[b], (a, b)
