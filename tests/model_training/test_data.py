"""The photo readers, near-duplicate removal and the leak-free split."""

from __future__ import annotations

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


def test_split_is_stratified_seeded_and_leak_free(tiny_root: Path) -> None:
    samples = data.drop_near_duplicates(data.read_folder_root(tiny_root))
    train, val = data.split(samples, val_fraction=0.3, seed=7)
    again_train, _again_val = data.split(samples, val_fraction=0.3, seed=7)
    assert [s.path for s in train] == [s.path for s in again_train]
    assert not {s.path for s in train} & {s.path for s in val}
    assert len(train) + len(val) == len(samples)
    assert {s.breed for s in val} == {s.breed for s in train}
    per_breed = {b: sum(s.breed == b for s in val) for b in {s.breed for s in samples}}
    assert set(per_breed.values()) == {3}
