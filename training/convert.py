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
5. When to take a second look at the cat, chosen on the validation photos
   (training/second_look.py); the thresholds fitted again for that answer path.
6. The product's figures on the test photos, as the function answers them (first and second
   look), and the card (training/model_card.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from catbreed import __version__
from catbreed.model import Classifier
from catbreed.preprocessing import image_to_input
from training import agreement, measure, second_look
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


def split_known(sets: dict, keep: list[int], paths: dict[str, list[Path]]) -> tuple[dict, dict]:
    """The validation and test photos of shipped breeds (labels renumbered, with their files)
    and the files of the left-out breeds' photos."""
    index = {old: new for new, old in enumerate(keep)}
    known, unknown = {"calibration_pixels": sets["calibration_pixels"]}, {}
    for side in ("val", "test"):
        mask = np.isin(sets[f"{side}_labels"], keep)
        known[f"{side}_pixels"] = sets[f"{side}_pixels"][mask]
        known[f"{side}_labels"] = np.array([index[label] for label in sets[f"{side}_labels"][mask]], dtype=np.int64)
        known[f"{side}_sources"] = sets[f"{side}_sources"][mask]
        known[f"{side}_paths"] = [p for p, shipped in zip(paths[side], mask, strict=True) if shipped]
        unknown[f"{side}_paths"] = [p for p, shipped in zip(paths[side], mask, strict=True) if not shipped]
    return known, unknown


def photo_paths(run: Path) -> dict[str, list[Path]]:
    """The validation and test photos' files, in the order of sets.npz (split.json); the
    second look cuts its crop from the photo itself, so they must still be where training read them."""
    split = json.loads((run / "split.json").read_text())
    paths = {"val": [Path(p) for p, _, _ in split["validation"]], "test": [Path(p) for p, _, _ in split["test"]]}
    missing = [p for side in paths.values() for p in side if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} photos of the run's validation and test split are gone, e.g. {missing[0]}")
    return paths


def read_all(paths: list[Path]) -> list[bytes]:
    return [p.read_bytes() for p in paths]


def thumbnail_breeds(run: Path) -> set[str]:
    """Breeds whose training photos are mostly thumbnails."""
    split = json.loads((run / "split.json").read_text())["train"]
    breeds = {breed for _, breed, _ in split}
    return {
        b for b in breeds if 2 * sum(1 for _, x, s in split if x == b and s == THUMBNAILS) > sum(1 for _, x, _ in split if x == b)
    }


def choose_second_look(
    classifier: Classifier, sets: dict, log: Callable[[str], None]
) -> tuple[list[second_look.PhotoLooks], second_look.SecondLook]:
    """Every validation photo's looks, and the second-look setting chosen on them."""
    looked = second_look.looks(classifier, read_all(sets["val_paths"]))
    chosen, _ = second_look.choose(looked, sets["val_labels"], sets["val_sources"])
    figures = second_look.report(looked, sets["val_labels"], sets["val_sources"], chosen)
    log(f"second look: {asdict(chosen)}; validation {figures['first_look']} -> {figures['chosen']}")
    return looked, chosen


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


@dataclass(frozen=True, kw_only=True)
class Rules:
    """How a run becomes the shipped model: the precision (and, for int8, how many of the
    worst-quantized layers may stay in float, step by step), which breeds ship, the dog photos
    the cat threshold is tuned on, and the model's name (default: from the backbone) and version."""

    precision: str = PRECISION
    min_breed_top1: float = MIN_BREED_TOP1
    min_shipped_top1: float = MIN_SHIPPED_TOP1
    max_curated_cost: float = MAX_CURATED_COST
    float_layer_steps: tuple[int, ...] = FLOAT_LAYER_STEPS
    dogs: Path = DOGS
    name: str | None = None
    version: str = __version__


def convert(run: Path, out: Path, *, rules: Rules = Rules(), log: Callable[[str], None] = print) -> dict:
    """Select breeds, convert, check, fit thresholds, measure; write the artifacts only when
    all passed (raises agreement.DisagreementError otherwise)."""
    precision, name, version, dogs = rules.precision, rules.name, rules.version, rules.dogs
    min_breed_top1, max_curated_cost, min_shipped_top1 = rules.min_breed_top1, rules.max_curated_cost, rules.min_shipped_top1
    float_layer_steps = rules.float_layer_steps
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
    sets, unknown = split_known(every, keep, photo_paths(run))
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
        dog_photos = measure.photos_in(dogs)
        dog_pixels = np.array([image_to_input(p, size) for p in dog_photos], dtype=np.float32).reshape(-1, size, size, 3)
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
        served = candidate.classifier
        looked, chosen_look = choose_second_look(served, sets, log)
        margin = (chosen_look.margin,)
        test_looks = second_look.looks(served, read_all(sets["test_paths"]), margin)
        val_answers = second_look.answers(looked, chosen_look)[0]
        dog_scores = second_look.answers(second_look.looks(served, dog_photos, margin), chosen_look)[0].cat_scores
        limits = measure.fit_thresholds(val_answers, sets["val_labels"], sets["val_sources"], dog_scores)
        test_answers = second_look.answers(test_looks, chosen_look)[0]
        non_cats = second_look.answers(second_look.looks(served, measure.non_cat_photos(), margin), chosen_look)[0]
        unknown_answers = (
            second_look.answers(second_look.looks(served, read_all(unknown["test_paths"]), margin), chosen_look)[0]
            if unknown["test_paths"]
            else None
        )
        figures = measure.measure_test(
            sets, breeds, limits, val_answers, test_answers, dog_scores, non_cats.cat_scores, unknown_answers
        )
        figures["second_look"] = second_look.test_report(test_looks, sets["test_labels"], sets["test_sources"], chosen_look)
        figures["second_look"]["validation"] = second_look.report(looked, sets["val_labels"], sets["val_sources"], chosen_look)
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
        card = model_card(report, breeds, selection, limits, figures, conversion, tflite_bytes, name, version, chosen_look)
        (staging / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
        (staging / "MODEL_CARD.md").write_text(model_card_markdown(card))
        for artifact in ARTIFACTS:
            shutil.move(staging / artifact, out / artifact)
    return card
