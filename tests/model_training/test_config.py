"""A run's settings: the command line becomes a frozen TrainConfig, saved with the run and read
back typed (the model card reads report.json's `settings` the same way); SOURCE=X pairs have
one reader, which refuses a malformed pair before any work."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from training.config import TrainConfig, source_values
from training.model_card import training_summary
from training.train import parse_args

MAKE_TRAIN = [
    "--data", "data/oxford", "data/thumbs", "--out", "runs/x", "--source-weight", "web=0.5", "petfinder=0.3",
    "--views-per-source", "thumbs=1", "--min-photos", "40", "--source-weight", "feedback=0.5",
]  # fmt: skip


def test_the_command_line_becomes_a_typed_frozen_config() -> None:
    config = parse_args(MAKE_TRAIN)
    assert config.data == (Path("data/oxford"), Path("data/thumbs"))
    assert config.out == Path("runs/x") and config.cache == Path("runs/cache")
    assert config.source_weight == ("web=0.5", "petfinder=0.3", "feedback=0.5")  # given twice, the pairs add up
    assert (config.min_photos, config.views, config.weights) == (40, 2, "imagenet")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    assert parse_args([*MAKE_TRAIN, "--weights", "none"]).weights is None


def test_the_command_lines_defaults_are_the_configs_and_every_setting_is_an_option(capsys: pytest.CaptureFixture) -> None:
    assert parse_args(["--data", "d", "--out", "o"]) == TrainConfig(data=(Path("d"),), out=Path("o"))
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    options = capsys.readouterr().out
    for field in dataclasses.fields(TrainConfig):
        assert f"--{field.name.replace('_', '-')}" in options, field.name


def test_the_config_saved_with_a_run_reads_back_equal(tmp_path: Path) -> None:
    config = parse_args([*MAKE_TRAIN, "--clean-labels", "web", "petfinder", "--flip-tta"])
    config.save(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["views_per_source"] == ["thumbs=1"]
    assert TrainConfig.load(tmp_path) == config
    from_settings = TrainConfig.from_json(json.loads(json.dumps(config.settings())))  # as report.json holds them
    assert dataclasses.replace(from_settings, data=config.data) == config


def test_the_model_card_reads_the_settings_typed() -> None:
    config = parse_args([*MAKE_TRAIN, "--clean-labels", "petfinder", "--flagged-weight", "0.25"])
    text = training_summary(TrainConfig.from_json(config.settings()))
    assert "top 6 blocks" in text and "4 epochs on 2 views" in text
    assert "(views of some roots: thumbs=1)" in text
    assert "photos weighted by source (web=0.5, petfinder=0.3, feedback=0.5)" in text
    assert "photos of petfinder whose label" in text and "weighted 0.25" in text


def test_a_setting_an_older_run_did_not_record_takes_its_default() -> None:
    old = {"backbone": "efficientnet_lite2", "top_blocks": 6, "finetune_epochs": 4, "views": 2, "retired_option": 1}
    config = TrainConfig.from_json(old)
    assert config.distill_weight == 1.0 and config.views_per_source == ()


def test_source_pairs_have_one_reader() -> None:
    assert source_values(("thumbs=1", "web=2"), int) == {"thumbs": 1, "web": 2}
    assert source_values(["petfinder=0.3"], float) == {"petfinder": 0.3}
    for bad in ("thumbs", "=1", "thumbs="):
        with pytest.raises(ValueError, match="SOURCE=VALUE"):
            source_values((bad,), int)


@pytest.mark.parametrize("flags", [["--source-weight", "web"], ["--views-per-source", "thumbs=one"]])
def test_a_malformed_pair_is_refused_on_the_command_line(flags: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--data", "d", "--out", "o", *flags])
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
