"""Answers of the Keras and the converted model through the serving code, the thresholds
fitted on validation photos, and the product's figures on the test photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training import evaluate, thresholds
from training.agreement import CURATED, Answers

THUMBNAIL_SIDE = 150  # about the size of a thumbs/ photo


def keras_answers(keras_model_path: Path, pixels: np.ndarray) -> Answers:
    """Breed probabilities and cat scores of the Keras model, computed as serving does."""
    import keras

    import training.layers  # noqa: F401
    from catbreed.model import cat_score, softmax
    from training.layers import CAT_CLASSES

    model = keras.saving.load_model(keras_model_path)
    out = model.predict(pixels.astype(np.float32), batch_size=32, verbose=0)
    return Answers(softmax(out["breed_logits"]), cat_score(out["imagenet_logits"], np.array(CAT_CLASSES)))


def served_answers(classifier, pixels: np.ndarray) -> Answers:
    """Breed probabilities and cat scores of the converted model through catbreed.model."""
    predictions = [classifier.predict_pixels(photo.astype(np.float32)) for photo in pixels]
    probabilities = np.array([p.probabilities for p in predictions]).reshape(len(pixels), len(classifier.breeds))
    return Answers(probabilities, np.array([p.cat_score for p in predictions]))


def photos_in(folder: Path) -> list[bytes]:
    """Every readable photo of a folder (for the dog check)."""
    from catbreed.errors import UnsupportedImage
    from catbreed.preprocessing import load_image

    photos = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        try:
            data = path.read_bytes()
            load_image(data)
        except (OSError, UnsupportedImage):
            continue
        photos.append(data)
    return photos


def non_cat_photos() -> list[bytes]:
    from training.noncats import non_cat_photos

    return [data for _, data in non_cat_photos()]


def fit_thresholds(val: Answers, labels: np.ndarray, sources: np.ndarray, dog_scores: np.ndarray) -> dict:
    """The cat and confidence thresholds, from validation photos (and the tuning dogs) only."""
    cat = thresholds.cat_threshold(val.cat_scores, dog_scores, sources)
    curated = sources == CURATED
    confidence = thresholds.confidence_threshold(val.probabilities, labels, val.is_cat(cat), curated)
    return {"cat": cat, "confidence": confidence}


def as_thumbnails(pixels: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """The photos as a thumbnail would serve them: shrunk to `side` and scaled back up."""
    size = pixels.shape[1]
    return np.array(
        [
            np.asarray(
                Image.fromarray(p.astype(np.uint8)).resize((side, side), Image.BILINEAR).resize((size, size), Image.BILINEAR)
            )
            for p in pixels
        ],
        dtype=np.float32,
    )


def thumbnail_check(classifier, pixels: np.ndarray, labels: np.ndarray, breeds: list[str], thumbnail_breeds: set[str]) -> dict:
    """Does a small photo pull answers towards the breeds known mostly from thumbnails? The
    same (non-thumbnail) validation photos at full and at thumbnail resolution: top-1, and the
    share of answers naming a breed whose photos are mostly thumbnails."""
    mostly_thumbs = np.array([b in thumbnail_breeds for b in breeds])
    result = {"photos": len(labels), "thumbnail_breeds": sorted(thumbnail_breeds)}
    for name, batch in (("full", pixels), ("thumbnail", as_thumbnails(pixels))):
        probs = served_answers(classifier, batch).probabilities
        result[name] = {
            "top1": evaluate.top_k_accuracy(probs, labels, 1),
            "answers_naming_thumbnail_breeds": float(mostly_thumbs[probs.argmax(1)].mean()) if len(labels) else float("nan"),
        }
    return result


def measure_test(
    sets: dict,
    breeds: list[str],
    limits: dict,
    val: Answers,
    test: Answers,
    dog_scores: np.ndarray,
    non_cat_scores: np.ndarray,
    left_out: Answers | None,
) -> dict:
    """The product's figures on the test photos (`left_out`: the answers for the test photos of
    breeds left out), with the thresholds fitted on validation, and those thresholds'
    validation figures."""
    cat, confidence = limits["cat"], limits["confidence"]
    test_labels, test_sources = sets["test_labels"], sets["test_sources"]
    test_is_cat = test.is_cat(cat)
    others = non_cat_scores
    val_labels, curated = sets["val_labels"], sets["val_sources"] == CURATED
    val_is_cat = val.is_cat(cat)
    return {
        "accuracy": evaluate.per_source_report(test.probabilities, test_labels, test_sources.tolist(), breeds),
        "cat": {
            "cats_accepted": float(test_is_cat.mean()),
            "cats_accepted_per_breed": {b: float(test_is_cat[test_labels == i].mean()) for i, b in enumerate(breeds)},
            "dogs": len(dog_scores),
            "dogs_rejected": float(np.mean(dog_scores < cat)) if len(dog_scores) else None,
            "non_cat_pictures": len(others),
            "non_cats_rejected": float(np.mean(others < cat)),
        },
        "confidence": {
            source: thresholds.confidence_report(test.probabilities[mask], test_labels[mask], test_is_cat[mask], confidence)
            for source, mask in [("all", np.ones(len(test_labels), bool))]
            + [(s, test_sources == s) for s in sorted(set(test_sources.tolist()))]
        },
        "left_out_breeds": {
            "photos": 0 if left_out is None else len(left_out.cat_scores),
            "unsure": float(1 - left_out.confident(limits).mean()) if left_out is not None else None,
        },
        "validation_thresholds": {
            "cats_accepted": float(val_is_cat.mean()),
            "dogs_rejected": float(np.mean(dog_scores < cat)) if len(dog_scores) else None,
            f"confidence_{CURATED}": thresholds.confidence_report(
                val.probabilities[curated], val_labels[curated], val_is_cat[curated], confidence
            ),
            "confidence_all": thresholds.confidence_report(val.probabilities, val_labels, val_is_cat, confidence),
        },
    }
