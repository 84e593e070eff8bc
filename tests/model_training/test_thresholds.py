"""Thresholds fitted on validation: the cat score's and the confidence call's."""

from __future__ import annotations

import numpy as np

from training import thresholds


def test_cat_threshold_passes_the_share_of_cats_it_promises() -> None:
    cats = np.linspace(0.001, 1.0, 1000)
    threshold = thresholds.cat_threshold(cats)
    assert np.mean(cats >= threshold) >= thresholds.CAT_ACCEPTANCE
    assert np.mean(cats >= np.nextafter(threshold, 1.0)) < thresholds.CAT_ACCEPTANCE


def test_cat_threshold_rises_to_reject_dogs_only_while_cats_allow_it() -> None:
    cats = np.linspace(0.001, 1.0, 1000)
    dogs = np.array([0.0001] * 38 + [0.0125, 0.0135])  # two dogs above the cats' threshold
    raised = thresholds.cat_threshold(cats, dogs)
    assert np.mean(dogs < raised) >= thresholds.DOG_REJECTION
    assert np.mean(cats >= raised) >= thresholds.MIN_CAT_ACCEPTANCE
    catlike_dogs = np.array([0.0001] * 30 + [0.5] * 10)  # rejecting these would lose half the cats
    assert thresholds.cat_threshold(cats, catlike_dogs) == thresholds.cat_threshold(cats)


def test_cat_threshold_passes_the_share_of_cats_of_every_root() -> None:
    sharp = np.linspace(0.5, 1.0, 900)  # curated photos: high cat scores
    shelter = np.linspace(0.001, 1.0, 100)  # shelter photos: some low
    scores = np.concatenate([sharp, shelter])
    roots = np.array(["oxford"] * 900 + ["petfinder"] * 100)
    pooled = thresholds.cat_threshold(scores)
    assert np.mean(shelter >= pooled) < thresholds.CAT_ACCEPTANCE  # pooled, shelter cats lose out
    per_root = thresholds.cat_threshold(scores, roots=roots)
    assert np.mean(shelter >= per_root) >= thresholds.CAT_ACCEPTANCE
    assert np.mean(sharp >= per_root) >= thresholds.CAT_ACCEPTANCE
    dogs = np.full(40, 0.05)  # rejecting them would cost the shelter cats too much
    assert thresholds.cat_threshold(scores, dogs, roots) == per_root


def test_stand_in_takes_the_true_breed_out_and_renormalizes() -> None:
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    assert np.allclose(thresholds.stand_in_top(probs, np.array([0, 2])), [0.75, 0.5])


def test_confidence_report_counts_confident_right_and_unsure() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.4, 0.35, 0.25], [0.95, 0.04, 0.01]])
    labels = np.array([0, 1, 0, 0])
    is_cat = np.array([True, True, True, False])
    report = thresholds.confidence_report(probs, labels, is_cat, 0.8)
    assert report == {"photos": 4, "confident": 0.5, "confident_right": 0.5, "stand_ins_unsure": 0.75}


def test_confidence_threshold_is_the_lowest_that_meets_both_aims() -> None:
    rng = np.random.default_rng(0)
    top = rng.uniform(0.3, 1.0, 2000)
    probs = np.stack([top, (1 - top) * 0.7, (1 - top) * 0.3], axis=1)
    right = rng.uniform(size=2000) < top  # the top probability is calibrated
    labels = np.where(right, 0, 1)
    curated = np.ones(2000, bool)
    is_cat = np.ones(2000, bool)
    threshold = thresholds.confidence_threshold(probs, labels, is_cat, curated)
    at = thresholds.confidence_report(probs, labels, is_cat, threshold)
    below = thresholds.confidence_report(probs, labels, is_cat, round(threshold - 0.01, 2))
    assert at["confident_right"] >= thresholds.CONFIDENT_PRECISION
    assert at["stand_ins_unsure"] >= thresholds.STAND_INS_UNSURE
    assert below["confident_right"] < thresholds.CONFIDENT_PRECISION or below["stand_ins_unsure"] < thresholds.STAND_INS_UNSURE


def test_the_pipeline_fits_the_cat_threshold_per_data_root() -> None:
    """What the model card gets (measure.fit_thresholds): the curated root's sharp cats must
    not set a threshold the shelter root's cats fail."""
    from training.agreement import CURATED, Answers
    from training.measure import fit_thresholds

    sharp, shelter = np.linspace(0.5, 1.0, 900), np.linspace(0.001, 1.0, 100)
    sources = np.array([CURATED] * 900 + ["petfinder"] * 100)
    labels = np.arange(1000) % 4
    probabilities = np.full((1000, 4), 0.1)
    probabilities[np.arange(1000), labels] = 0.7  # right and sure: the confidence fit has an easy job
    fitted = fit_thresholds(Answers(probabilities, np.concatenate([sharp, shelter])), labels, sources, np.zeros(0))
    for cats in (sharp, shelter):
        assert np.mean(cats >= fitted["cat"]) >= thresholds.CAT_ACCEPTANCE


def test_without_a_curated_root_every_photo_is_the_yardstick() -> None:
    """A user's own breeds (no `oxford` root): the confidence threshold is fitted on all the
    validation photos, not left at the top of the grid (nearly every answer "not sure")."""
    rng = np.random.default_rng(1)
    top = rng.uniform(0.3, 1.0, 2000)
    probs = np.stack([top, (1 - top) * 0.7, (1 - top) * 0.3], axis=1)
    labels = np.where(rng.uniform(size=2000) < top, 0, 1)
    is_cat = np.ones(2000, bool)
    none_curated = thresholds.confidence_threshold(probs, labels, is_cat, np.zeros(2000, bool))
    assert none_curated == thresholds.confidence_threshold(probs, labels, is_cat, np.ones(2000, bool))
    assert none_curated < thresholds.GRID[-1]
