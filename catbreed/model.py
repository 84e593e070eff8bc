"""The shipped breed model: a LiteRT interpreter over `model/`, loaded once per process.

The model card (`model_card.json`) is the one source of the breed list, the ImageNet cat
classes, the thresholds and when to take a second look; they are read here, at load.

A photo gets a first look (its centre square). The model's cat map says where the cat is
(catbreed.focus); when the first look is unsure and the cat fills little of the square, the
model takes a second look at a square around the cat, and the answer averages the two.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from catbreed import focus
from catbreed.focus import Box
from catbreed.preprocessing import Photo, centre_square, load_photo, to_model_input

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "model"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis, in float64."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def cat_score(imagenet_logits: np.ndarray, cat_classes: np.ndarray) -> np.ndarray:
    """The ImageNet probability mass on the cat classes, along the last axis."""
    return softmax(imagenet_logits)[..., cat_classes].sum(axis=-1)


@dataclass(frozen=True)
class Look:
    """What one pass of the model says: probabilities over all breeds (model order), the cat
    score, and the cat map (None for a model without one)."""

    probabilities: np.ndarray
    cat_score: float
    cat_map: np.ndarray | None = None


@dataclass(frozen=True)
class SecondLook:
    """When and how to look again (the card's `second_look`, chosen on validation photos): the
    cat box is the map's cells at `peak_share` of its peak; a first look whose top probability
    is under `below` and whose cat box covers at most `max_area` of the square gets a second
    look at the square around the box, `margin` of its side added on each side."""

    peak_share: float = 0.35
    margin: float = 0.15
    below: float = 0.0  # 0: never
    max_area: float = 1.0

    def wanted(self, first: Look, box: Box, square: Box) -> bool:
        return float(first.probabilities.max()) < self.below and focus.area_share(box, square) <= self.max_area


@dataclass(frozen=True)
class Prediction:
    """The answer's probabilities over all breeds (model order) and cat score, where the cat
    is (`focus`, in the photo's pixels; None when the map found nothing), and how many looks."""

    probabilities: np.ndarray
    cat_score: float
    focus: tuple[int, int, int, int] | None = None
    looks: int = 1


class Classifier:
    """Top-k breeds, a cat score and a confidence call for photo bytes. Thread-safe (one
    interpreter, a lock)."""

    def __init__(self, model_dir: Path | str = DEFAULT_MODEL_DIR, num_threads: int = 1) -> None:
        model_dir = Path(model_dir)
        card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
        self.breeds: list[str] = card["breeds"]
        self.cat_classes = np.array(card["cat_classes"], dtype=np.int64)
        self.cat_threshold: float = card["thresholds"]["cat"]
        self.confidence_threshold: float = card["thresholds"]["confidence"]
        self.second_look = SecondLook(**card.get("second_look", {}))
        self.info = {"name": card["name"], "version": card["version"], "breeds": len(self.breeds)}
        self._interpreter = Interpreter(model_path=str(model_dir / card["file"]), num_threads=num_threads)
        self._runner = self._interpreter.get_signature_runner()
        ((self._input_name, details),) = self._runner.get_input_details().items()
        self.input_size = int(details["shape"][1])
        self._lock = threading.Lock()
        # One inference now prepares the kernels, so the first request (and in Lambda, the
        # init phase rather than the first invocation) pays for it.
        self.predict_pixels(np.zeros((self.input_size, self.input_size, 3), dtype=np.float32))

    def predict_pixels(self, pixels: np.ndarray) -> Look:
        """Run the model once on one preprocessed (size, size, 3) float32 tensor."""
        with self._lock:
            outputs = self._runner(**{self._input_name: pixels[np.newaxis].astype(np.float32)})
        cat_map = outputs["cat_map"][0, :, :, 0] if "cat_map" in outputs else None
        return Look(
            softmax(outputs["breed_logits"][0]), float(cat_score(outputs["imagenet_logits"][0], self.cat_classes)), cat_map
        )

    def predict(self, photo: bytes) -> Prediction:
        """Decode, preprocess and classify photo bytes (raises UnsupportedImage)."""
        return self.predict_photo(load_photo(photo, min_side=2 * self.input_size))

    def predict_photo(self, photo: Photo) -> Prediction:
        """The first look, and the second when it is wanted (see SecondLook)."""
        image = photo.image
        square = centre_square(*image.size)
        first = self.predict_pixels(to_model_input(image, self.input_size))
        if first.cat_map is None:  # a model without a cat map (before v4)
            return Prediction(first.probabilities, first.cat_score)
        box = focus.map_box(first.cat_map, square, self.second_look.peak_share)
        if box is None:  # nothing cat-like anywhere: the model looked at the whole square
            return Prediction(first.probabilities, first.cat_score, photo.to_photo(square))
        where = photo.to_photo(focus.clip(box, *image.size))
        if not self.second_look.wanted(first, box, square):
            return Prediction(first.probabilities, first.cat_score, where)
        closer = focus.crop(image, focus.square_around(box, self.second_look.margin))
        second = self.predict_pixels(to_model_input(closer, self.input_size))
        probabilities = (first.probabilities + second.probabilities) / 2
        return Prediction(probabilities, (first.cat_score + second.cat_score) / 2, where, looks=2)

    def top_k(self, prediction: Prediction, k: int) -> list[dict]:
        """The k most probable breeds, most probable first."""
        order = np.argsort(-prediction.probabilities, kind="stable")[:k]
        return [{"breed": self.breeds[i], "probability": round(float(prediction.probabilities[i]), 4)} for i in order]

    def is_cat(self, prediction: Prediction) -> bool:
        """Whether the cat score reaches the threshold fitted on validation photos."""
        return prediction.cat_score >= self.cat_threshold

    def is_confident(self, prediction: Prediction) -> bool:
        """Whether the top breed is a call the model stands behind: a cat, and a top
        probability at or above the threshold fitted on validation photos."""
        return self.is_cat(prediction) and float(prediction.probabilities.max()) >= self.confidence_threshold
