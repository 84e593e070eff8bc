"""Thresholds of the shipped model, fitted on validation photos only: the cat score's
(is it a cat?) and the top probability's (is the top breed a call the model stands behind?).

"Breeds the model does not know" are stood in for by the known ones: for a photo of breed
b, the model's answer with b's probability removed (and the rest renormalized) is what a
model without b would have said. Most of such answers (STAND_INS_UNSURE) should come back unsure.
"""

from __future__ import annotations

import numpy as np

CAT_ACCEPTANCE = 0.985  # share of validation cats of every data root that must pass the cat threshold
DOG_REJECTION = 0.975  # share of the tuning dogs to reject, where cats allow it
MIN_CAT_ACCEPTANCE = 0.98  # never trade cats below this for dogs
CONFIDENT_PRECISION = 0.96  # confident answers on curated validation photos must be this often right
STAND_INS_UNSURE = 0.60  # share of stand-in unknown breeds that must come back unsure
GRID = np.round(np.arange(0.20, 0.991, 0.01), 2)


def cat_threshold(cat_scores: np.ndarray, dog_scores: np.ndarray | None = None, roots: np.ndarray | None = None) -> float:
    """The highest threshold that still passes CAT_ACCEPTANCE of the validation cats of every
    data root in `roots` (all cats as one root by default), raised (if every root's cats
    allow, down to MIN_CAT_ACCEPTANCE) until DOG_REJECTION of the dogs fail it."""
    roots = np.zeros(len(cat_scores), dtype=int) if roots is None else np.asarray(roots)
    groups = [cat_scores[roots == root] for root in np.unique(roots)]

    def passing(scores: np.ndarray) -> float:
        may_fail = int(np.floor((1 - CAT_ACCEPTANCE) * len(scores) + 1e-9))
        return float(np.sort(scores)[may_fail])

    threshold = min(passing(scores) for scores in groups)
    if dog_scores is not None and len(dog_scores):
        allowed_dogs = int(np.floor((1 - DOG_REJECTION) * len(dog_scores)))
        dog_threshold = float(np.nextafter(np.sort(dog_scores)[::-1][allowed_dogs], np.inf))
        if dog_threshold > threshold and all(np.mean(scores >= dog_threshold) >= MIN_CAT_ACCEPTANCE for scores in groups):
            threshold = dog_threshold
    return threshold


def stand_in_top(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Top probability of each answer with its true breed taken out and the rest renormalized."""
    others = probs.copy()
    others[np.arange(len(labels)), labels] = 0.0
    return others.max(axis=1) / np.maximum(others.sum(axis=1), 1e-12)


def confident(probs: np.ndarray, is_cat: np.ndarray, threshold: float) -> np.ndarray:
    """Which answers are confident calls: a cat, and a top probability of at least `threshold`
    (as catbreed.model.Classifier.is_confident decides one answer)."""
    return is_cat & (probs.max(axis=1) >= threshold)


def confidence_report(probs: np.ndarray, labels: np.ndarray, is_cat: np.ndarray, threshold: float) -> dict:
    """How a confidence threshold behaves on labelled photos: share of answers confident,
    share of those right, share of stand-in unknown breeds that come back unsure."""
    calls = confident(probs, is_cat, threshold)
    right = probs.argmax(axis=1) == labels
    return {
        "photos": len(labels),
        "confident": float(calls.mean()) if len(labels) else float("nan"),
        "confident_right": float(right[calls].mean()) if calls.any() else float("nan"),
        "stand_ins_unsure": float(np.mean(stand_in_top(probs, labels) < threshold)) if len(labels) else float("nan"),
    }


def confidence_threshold(probs: np.ndarray, labels: np.ndarray, is_cat: np.ndarray, curated: np.ndarray) -> float:
    """The lowest threshold on the grid at which confident answers on curated photos are
    right CONFIDENT_PRECISION of the time and STAND_INS_UNSURE of the stand-in unknown
    breeds (all photos) come back unsure; the top of the grid if none is. Data without a
    curated root (a user's own breeds) holds every photo to the first aim."""
    curated = curated if curated.any() else np.ones(len(labels), dtype=bool)
    for threshold in GRID:
        on_curated = confidence_report(probs[curated], labels[curated], is_cat[curated], threshold)
        unsure = np.mean(stand_in_top(probs, labels) < threshold)
        if on_curated["confident_right"] >= CONFIDENT_PRECISION and unsure >= STAND_INS_UNSURE:
            return float(threshold)
    return float(GRID[-1])
