"""The shipped breed model: a LiteRT interpreter over `model/`, loaded once per process."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from catbreed.preprocessing import image_to_input

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "model"


@dataclass(frozen=True)
class Prediction:
    """Probabilities over all breeds (model order) and the cat score."""

    probabilities: np.ndarray
    cat_score: float


class Classifier:
    """Top-k breeds and a cat score for photo bytes. Thread-safe (one interpreter, a lock)."""

    def __init__(self, model_dir: Path | str = DEFAULT_MODEL_DIR, num_threads: int | None = None) -> None:
        model_dir = Path(model_dir)
        card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
        self.breeds: list[str] = card["breeds"]
        self.cat_threshold: float = card["cat_threshold"]
        self.info = {"name": card["name"], "version": card["version"], "breeds": len(self.breeds)}
        threads = num_threads or int(os.environ.get("CATBREED_THREADS", "1"))
        self._interpreter = Interpreter(model_path=str(model_dir / card["file"]), num_threads=threads)
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
        return Prediction(outputs["breeds"][0].astype(np.float64), float(outputs["cat_score"][0][0]))

    def predict(self, photo: bytes) -> Prediction:
        """Decode, preprocess and classify photo bytes (raises UnsupportedImage)."""
        return self.predict_pixels(image_to_input(photo, self.input_size))

    def top_k(self, prediction: Prediction, k: int) -> list[dict]:
        """The k most probable breeds, most probable first."""
        order = np.argsort(-prediction.probabilities)[:k]
        return [{"breed": self.breeds[i], "probability": round(float(prediction.probabilities[i]), 4)} for i in order]

    def is_cat(self, prediction: Prediction) -> bool:
        """Whether the cat score passes the threshold chosen at training time."""
        return prediction.cat_score >= self.cat_threshold
