"""When the model takes a second look at the cat, chosen on validation photos.

Every validation photo gets its first look and, for each margin tried, the second look the
serving code would take (catbreed.model). Each setting (how unsure the first look is, how
little of the square the cat fills, the margin) is then scored from those looks without running
the model again: validation top-1 on the curated and the shelter photos, and the share of photos
that take a second look, which is what it costs. The best setting within the cost budget wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from catbreed import focus
from catbreed.model import Classifier, Look, SecondLook
from catbreed.preprocessing import centre_square, load_photo, to_model_input
from training import evaluate
from training.agreement import CURATED, Answers

SHELTER = "petfinder"
PEAK_SHARE = 0.35  # the map's cells at 35% of its peak or more make the cat box
MARGINS = (0.1, 0.2, 0.35)
BELOW = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 0: never, 1.01: always
MAX_AREA = (0.2, 0.35, 0.5, 0.7, 1.0)
# A second look costs about one more pass of the model: at most this share of the curated and
# shelter photos may take one, so the mean time per photo grows by about a fifth (the bar: 25%).
BUDGET = 0.2


@dataclass
class PhotoLooks:
    """One photo's first look, its cat box's share of the square, and a second look per margin."""

    first: Look
    area: float | None  # None: the map found nothing
    second: dict[float, Look]


def looks(classifier: Classifier, photos: Iterable[bytes], margins: tuple[float, ...] = MARGINS) -> list[PhotoLooks]:
    """The first look at every photo, and the second look at each margin, as serving takes them."""
    size = classifier.input_size
    result = []
    for data in photos:
        image = load_photo(data, min_side=2 * size).image
        square = centre_square(*image.size)
        first = classifier.predict_pixels(to_model_input(image, size))
        box = None if first.cat_map is None else focus.map_box(first.cat_map, square, PEAK_SHARE)
        second = {}
        if box is not None:
            for margin in margins:
                closer = focus.crop(image, focus.square_around(box, margin))
                second[margin] = classifier.predict_pixels(to_model_input(closer, size))
        result.append(PhotoLooks(first, None if box is None else focus.area_share(box, square), second))
    return result


def answers(photos: list[PhotoLooks], setting: SecondLook) -> tuple[Answers, np.ndarray]:
    """The answers under `setting` (as catbreed.model.Classifier.predict_photo forms them),
    and which photos took a second look."""
    probabilities, cat_scores, second = [], [], []
    for photo in photos:
        first = photo.first
        took = (
            photo.area is not None
            and float(first.probabilities.max()) < setting.below
            and photo.area <= setting.max_area
        )
        if took:
            other = photo.second[setting.margin]
            probabilities.append((first.probabilities + other.probabilities) / 2)
            cat_scores.append((first.cat_score + other.cat_score) / 2)
        else:
            probabilities.append(first.probabilities)
            cat_scores.append(first.cat_score)
        second.append(took)
    return Answers(np.array(probabilities), np.array(cat_scores)), np.array(second)


def score(photos: list[PhotoLooks], labels: np.ndarray, sources: np.ndarray, setting: SecondLook) -> dict:
    """Validation top-1 (curated, shelter, all) and the share of second looks under `setting`."""
    result, took = answers(photos, setting)
    right = result.probabilities.argmax(axis=1) == labels
    costed = np.isin(sources, [CURATED, SHELTER])
    share = float(took[costed].mean()) if costed.any() else float(took.mean())
    figures = {"top1": float(right.mean()), "second_looks": share}
    for name in (CURATED, SHELTER):
        if (sources == name).any():
            figures[f"top1_{name}"] = float(right[sources == name].mean())
    figures["objective"] = float(np.mean([v for k, v in figures.items() if k.startswith("top1")]))
    return figures


def choose(
    photos: list[PhotoLooks], labels: np.ndarray, sources: np.ndarray, budget: float = BUDGET
) -> tuple[SecondLook, list[dict]]:
    """The setting with the best mean of curated, shelter and overall validation top-1 among those
    within the budget (ties: fewer second looks); every setting tried, with its figures."""
    tried = []
    for below, max_area, margin in itertools.product(BELOW, MAX_AREA, MARGINS):
        setting = SecondLook(PEAK_SHARE, margin, below, max_area)
        tried.append(asdict(setting) | score(photos, labels, sources, setting))
    affordable = [t for t in tried if t["second_looks"] <= budget]
    best = max(affordable, key=lambda t: (round(t["objective"], 6), -t["second_looks"]))
    return SecondLook(*(best[k] for k in ("peak_share", "margin", "below", "max_area"))), tried


def report(photos: list[PhotoLooks], labels: np.ndarray, sources: np.ndarray, chosen: SecondLook) -> dict:
    """What the chosen setting gives on validation against the first look alone."""
    never = SecondLook(PEAK_SHARE, chosen.margin, 0.0, chosen.max_area)
    return {
        "setting": asdict(chosen),
        "budget": BUDGET,
        "grid": {"below": list(BELOW), "max_area": list(MAX_AREA), "margin": list(MARGINS)},
        "first_look": score(photos, labels, sources, never),
        "chosen": score(photos, labels, sources, chosen),
    }


def test_report(photos: list[PhotoLooks], labels: np.ndarray, sources: np.ndarray, chosen: SecondLook) -> dict:
    """Per root: top-1 and top-5 of the first look alone and of the answer, and the share of
    photos that took a second look."""
    never = SecondLook(PEAK_SHARE, chosen.margin, 0.0, chosen.max_area)
    first, answer = answers(photos, never)[0].probabilities, answers(photos, chosen)
    result = {}
    for source in ["all", *sorted(set(sources.tolist()))]:
        idx = np.flatnonzero(sources == source) if source != "all" else np.arange(len(labels))
        result[source] = {
            "photos": len(idx),
            "first_look_top1": evaluate.top_k_accuracy(first[idx], labels[idx], 1),
            "first_look_top5": evaluate.top_k_accuracy(first[idx], labels[idx], 5),
            "top1": evaluate.top_k_accuracy(answer[0].probabilities[idx], labels[idx], 1),
            "top5": evaluate.top_k_accuracy(answer[0].probabilities[idx], labels[idx], 5),
            "second_looks": float(answer[1][idx].mean()) if len(idx) else float("nan"),
        }
    return result
