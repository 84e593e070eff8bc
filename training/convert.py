"""A training run (training/train.py's --out folder) -> the shipped model in `out`:
`catbreed.tflite`, `model_card.json` and `MODEL_CARD.md`, all three or none.

1. Breeds: those the float model learned, on validation (training/breed_selection.py).
2. Conversion at a precision (training/export.py); int8 calibrated on training photos from
   every root. If int8 does not answer as the float model does on validation
   (training/agreement.py), the layers that quantize worst stay in float, a few more at a
   time, until it does.
3. Thresholds fitted on validation through the serving code (training/measure.py).
4. The agreement rule on the test photos, with those thresholds: nothing is written unless
   it passes.
5. The product's figures on the test photos, and the card (training/model_card.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from catbreed import __version__
from training import agreement, measure
from training.agreement import CURATED, Answers
from training.breed_selection import select_breeds
from training.export import restrict_breeds, to_tflite, worst_quantized_layers
from training.layers import CAT_CLASSES
from training.model_card import MODEL_FILE, model_card, model_card_markdown

ARTIFACTS = (MODEL_FILE, "model_card.json", "MODEL_CARD.md")
DOGS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "notcat" / "dogs"
PRECISION = "float32"  # int8 fails training/agreement.py's rule on the shipped model (README: Training)
MIN_BREED_TOP1 = 0.4  # a new breed
MIN_SHIPPED_TOP1 = 0.2  # a breed the model in service already ships
MAX_CURATED_COST = 0.005
FLOAT_LAYER_STEPS = (0, 2, 4, 8, 16, 32)  # int8 tries: how many of the worst layers stay in float
QUANTIZATION_PROBE_PHOTOS = 32  # validation photos the layer errors are measured on
THUMBNAILS = "thumbs"


def default_name(report: dict) -> str:
    """catbreed-effnet-lite2 for efficientnet_lite2."""
    return "catbreed-" + report["backbone"].replace("efficientnet_", "effnet-").replace("_", "-")


def split_known(sets: dict, keep: list[int]) -> tuple[dict, dict]:
    """The validation and test photos of shipped breeds (labels renumbered) and the
    pixels of the left-out breeds' photos."""
    index = {old: new for new, old in enumerate(keep)}
    known, unknown = {"calibration_pixels": sets["calibration_pixels"]}, {}
    for side in ("val", "test"):
        mask = np.isin(sets[f"{side}_labels"], keep)
        known[f"{side}_pixels"] = sets[f"{side}_pixels"][mask]
        known[f"{side}_labels"] = np.array([index[label] for label in sets[f"{side}_labels"][mask]], dtype=np.int64)
        known[f"{side}_sources"] = sets[f"{side}_sources"][mask]
        unknown[f"{side}_pixels"] = sets[f"{side}_pixels"][~mask]
    return known, unknown


def thumbnail_breeds(run: Path) -> set[str]:
    """Breeds whose training photos are mostly thumbnails."""
    split = json.loads((run / "split.json").read_text())["train"]
    breeds = {breed for _, breed, _ in split}
    return {
        b for b in breeds if 2 * sum(1 for _, x, s in split if x == b and s == THUMBNAILS) > sum(1 for _, x, _ in split if x == b)
    }


class Candidate:
    """One converted file in the staging folder, served as the function would, with its
    thresholds fitted on validation and the agreement rule on validation."""

    def __init__(
        self, staging: Path, tflite: bytes, draft: dict, sets: dict, reference: Answers, dog_pixels: np.ndarray, precision: str
    ):
        from catbreed.model import Classifier

        (staging / MODEL_FILE).write_bytes(tflite)
        (staging / "model_card.json").write_text(json.dumps(draft))
        self.classifier = Classifier(staging, num_threads=2)
        self.val = measure.served_answers(self.classifier, sets["val_pixels"])
        self.dog_scores = measure.served_answers(self.classifier, dog_pixels).cat_scores
        self.limits = measure.fit_thresholds(self.val, sets["val_labels"], sets["val_sources"], self.dog_scores)
        self.on_validation = agreement.compare(
            reference, self.val, sets["val_labels"], sets["val_sources"], self.limits, precision
        )


def convert(
    run: Path,
    out: Path,
    precision: str = PRECISION,
    name: str | None = None,
    version: str = __version__,
    dogs: Path = DOGS,
    min_breed_top1: float = MIN_BREED_TOP1,
    max_curated_cost: float = MAX_CURATED_COST,
    min_shipped_top1: float = MIN_SHIPPED_TOP1,
    float_layer_steps: tuple[int, ...] = FLOAT_LAYER_STEPS,
    log: Callable[[str], None] = print,
) -> dict:
    """Select breeds, convert, check, fit thresholds, measure; write the artifacts only when
    all passed (raises agreement.DisagreementError otherwise)."""
    report = json.loads((run / "report.json").read_text())
    in_service = out / "model_card.json"  # the model this one replaces, if any
    shipped = frozenset(json.loads(in_service.read_text())["breeds"]) if in_service.exists() else frozenset()
    every = dict(np.load(run / "sets.npz"))
    full = measure.keras_answers(run / "model.keras", every["val_pixels"])
    breeds, left_out = select_breeds(
        full.probabilities,
        every["val_labels"],
        every["val_sources"],
        report["breeds"],
        min_breed_top1,
        max_curated_cost,
        shipped,
        min_shipped_top1,
    )
    log(f"{len(breeds)} of {len(report['breeds'])} breeds ship; left out: {', '.join(left_out) or 'none'}")
    keep = [report["breeds"].index(b) for b in breeds]
    sets, unknown = split_known(every, keep)
    name = name or default_name(report)
    draft = {"name": name, "version": version, "file": MODEL_FILE, "breeds": breeds}
    draft |= {"cat_classes": list(CAT_CLASSES), "thresholds": {"cat": 0.0, "confidence": 0.0}}
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".convert-") as tmp:
        staging = Path(tmp)
        keras_path = staging / "model.keras"
        restrict_breeds(run / "model.keras", keep, keras_path)
        reference = {side: measure.keras_answers(keras_path, sets[f"{side}_pixels"]) for side in ("val", "test")}
        size = sets["val_pixels"].shape[1]
        dog_pixels = measure.photos_in(dogs, size)
        calibration = sets["calibration_pixels"]

        steps, ranked, tried = float_layer_steps if precision == "int8" else (0,), [], []
        for count in steps:
            if count and not ranked:
                ranked = [
                    layer
                    for layer, _ in worst_quantized_layers(
                        keras_path, calibration, sets["val_pixels"][:QUANTIZATION_PROBE_PHOTOS]
                    )
                ]
            float_layers = tuple(ranked[:count])
            candidate = Candidate(
                staging,
                to_tflite(keras_path, precision, calibration, float_layers),
                draft,
                sets,
                reference["val"],
                dog_pixels,
                precision,
            )
            tried.append(
                {
                    "float_layers": count,
                    "passed": candidate.on_validation["passed"],
                    "same_top1": candidate.on_validation["same_top1"],
                }
            )
            failing = {n: c["value"] for n, c in candidate.on_validation["clauses"].items() if not c["passed"]}
            log(f"{precision}, {count} layers in float: validation {'fails ' + str(failing) if failing else 'passes'}")
            if candidate.on_validation["passed"]:
                break
        agreement.check(candidate.on_validation)
        test = measure.served_answers(candidate.classifier, sets["test_pixels"])
        on_test = agreement.check(
            agreement.compare(reference["test"], test, sets["test_labels"], sets["test_sources"], candidate.limits, precision)
        )
        figures = measure.measure_test(
            candidate.classifier,
            sets,
            breeds,
            candidate.limits,
            candidate.val,
            test,
            candidate.dog_scores,
            unknown["test_pixels"],
        )
        not_thumbs = sets["val_sources"] != THUMBNAILS
        conversion = {
            "precision": precision,
            "float_layers": list(float_layers),
            "tried": tried,
            "validation": candidate.on_validation,
            "test": on_test,
            "thumbnail_check": measure.thumbnail_check(
                candidate.classifier,
                sets["val_pixels"][not_thumbs],
                sets["val_labels"][not_thumbs],
                breeds,
                thumbnail_breeds(run),
            ),
        }
        selection = {
            "rule": (
                f"A new breed ships when its validation top-1 is at least {min_breed_top1:.0%}, a breed the model in "
                f"service shipped ({len(shipped)} breeds) while it is at least {min_shipped_top1:.0%}; a breed without "
                f"{CURATED} photos only when it costs {CURATED} validation top-1 at most {max_curated_cost:.1%}."
            ),
            "breeds": left_out,
        }
        tflite_bytes = (staging / MODEL_FILE).stat().st_size
        card = model_card(report, breeds, selection, candidate.limits, figures, conversion, tflite_bytes, name, version)
        (staging / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
        (staging / "MODEL_CARD.md").write_text(model_card_markdown(card))
        for artifact in ARTIFACTS:
            shutil.move(staging / artifact, out / artifact)
    return card
