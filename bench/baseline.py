"""The baseline the shipped model is compared with: an Xception-299 model (random weights; its
speed and size do not depend on them) with our outputs, as a .tflite in a model folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from catbreed.model import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parent.parent


def xception_model(directory: Path, breeds: int) -> Path:
    """An Xception-299 .tflite with random weights and our outputs, for the baseline."""
    from training.model_card import MODEL_FILE

    script = f"""
import keras
from training.backbones import build_backbone
from training.export import export_model, to_tflite
backbone = build_backbone("xception", weights=None, input_size=299)
head = keras.layers.Dense({breeds})
head.build((None, 2048))
export_model(backbone, head, 1.0).save({str(directory / "model.keras")!r})
open({str(directory / MODEL_FILE)!r}, "wb").write(to_tflite({str(directory / "model.keras")!r}, "float32"))
"""
    subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    )
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    card.update(name="xception-299-random", file=MODEL_FILE)
    (directory / "model_card.json").write_text(json.dumps(card))
    return directory
