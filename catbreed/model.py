"""The shipped breed model: a LiteRT interpreter over `model/`, loaded once per process.

The model card (`model_card.json`) is the one source of the breed list, the ImageNet cat
classes and the thresholds; they are read here, at load.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from catbreed.preprocessing import image_to_input

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
class Prediction:
    """Probabilities over all breeds (model order) and the cat score."""

    probabilities: np.ndarray
    cat_score: float


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
        self.info = {"name": card["name"], "version": card["version"], "breeds": len(self.breeds)}
        self._interpreter = Interpreter(model_path=str(model_dir / card["file"]), num_threads=num_threads)
        self._runner = self._interpreter.get_signature_runner()
        ((self._input_name, details),) = self._runner.get_input_details().items()
        self.input_size = int(details["shape"][1])
        self._lock = threading.Lock()
        # One inference now prepares the kernels, so the first request (and in Lambda, the
        # init phase rather than the first invocation) pays for it.
        self.predict_pixels(np.zeros((self.input_size, self.input_size, 3), dtype=np.float32))

    def predict_pixels(self, pixels: np.ndarray) -> Prediction:
        """Run the model on one preprocessed (size, size, 3) float32 tensor."""
        with self._lock:
            outputs = self._runner(**{self._input_name: pixels[np.newaxis].astype(np.float32)})
        return Prediction(softmax(outputs["breed_logits"][0]), float(cat_score(outputs["imagenet_logits"][0], self.cat_classes)))

    def predict(self, photo: bytes) -> Prediction:
        """Decode, preprocess and classify photo bytes (raises UnsupportedImage)."""
        return self.predict_pixels(image_to_input(photo, self.input_size))

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
