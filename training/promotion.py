"""The promotion gate: may a candidate model replace the model in service?

Both models answer the same photos through the function's own code (catbreed.service, as
`POST /predict` answers): the candidate run's test photos (its `split.json`, which no choice
in training or conversion looked at), the tuning dogs when there are any, and, when given, a
reviewed feedback export (python -m catbreed_local.feedback_export). The measures, each one share per photo:

- top-1 on every test photo whose breed either model knows, on the curated root (`oxford`) and
  on the shelter root (`petfinder`), each when the test photos hold that root;
- confident and right (the answer is `confident` and names the right breed), on the same photos;
- dogs rejected (`is_cat` false), on the dog photos;
- top-1 on the feedback photos (owners' own, reviewed), when given.

A model that does not know a photo's breed answers it wrongly: dropping a breed owners had costs.

Worse beyond the noise: each measure compares the two models on the same photos, so only the
photos where they differ say anything. The exact one-sided McNemar test asks how likely it is,
were the models equally good, that of the n photos only one model gets right, the model in
service gets b or more: p = P(X >= b), X ~ Binomial(n, 1/2). It is exact at any n (some roots
and the dogs are a few dozen photos, where the chi-squared approximation fails), needs no
resampling (a paired bootstrap would give a slightly different verdict on every run; this gate
gives the same one), and is what a paired comparison of right/wrong outcomes calls for. A
candidate is refused when any measure is worse with p under ALPHA divided by the number of
measures (Bonferroni): the chance of refusing a candidate as good as the model in service stays
under ALPHA however many measures there are. A canary on AWS then watches live traffic (docs/rollout.md).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from catbreed.errors import CatbreedError
from catbreed.model import Classifier
from catbreed.service import PredictRequest, Service
from training.agreement import CURATED
from training.convert import ARTIFACTS
from training.data import IMAGE_SUFFIXES, read_folder_root

ALPHA = 0.05
SHELTER = "petfinder"
FEEDBACK = "feedback"
NOT_REVIEWED = "NOT_REVIEWED.txt"  # the marker catbreed_local.feedback_export leaves until a person has reviewed the export


class GateError(Exception):
    """The comparison cannot be made (missing files, an unreviewed export); nothing was judged."""


@dataclass(frozen=True)
class Photo:
    """A labelled photo: its file, its breed (as GET /breeds spells it) and its data root."""

    path: Path
    breed: str
    source: str


@dataclass(frozen=True)
class Answers:
    """What a model answered for each photo (None where it could not read the photo)."""

    breed: list[str | None]
    is_cat: np.ndarray
    confident: np.ndarray

    @property
    def read(self) -> np.ndarray:
        return np.array([b is not None for b in self.breed], dtype=bool)


@dataclass(frozen=True)
class Measure:
    """One line of the comparison: both models' share on the same photos and the paired test."""

    name: str
    photos: int
    in_service: float
    candidate: float
    only_in_service: int  # photos only the model in service gets right
    only_candidate: int  # photos only the candidate gets right
    p_worse: float  # exact one-sided McNemar p-value of "the candidate is worse"

    @property
    def change(self) -> float:
        return self.candidate - self.in_service


def mcnemar_worse(only_in_service: int, only_candidate: int) -> float:
    """P(X >= only_in_service) for X ~ Binomial(n, 1/2), n the photos where the two differ:
    how often a candidate as good as the model in service would lose this many of them."""
    n = only_in_service + only_candidate
    return math.fsum(math.comb(n, k) for k in range(only_in_service, n + 1)) / 2**n if n else 1.0


def compare(name: str, in_service: np.ndarray, candidate: np.ndarray) -> Measure:
    """A Measure from each model's right (True) or wrong (False) on the same photos."""
    in_service, candidate = np.asarray(in_service, bool), np.asarray(candidate, bool)
    only_in_service, only_candidate = int(np.sum(in_service & ~candidate)), int(np.sum(candidate & ~in_service))
    return Measure(
        name,
        len(in_service),
        float(in_service.mean()) if len(in_service) else float("nan"),
        float(candidate.mean()) if len(candidate) else float("nan"),
        only_in_service,
        only_candidate,
        mcnemar_worse(only_in_service, only_candidate),
    )


def run_photos(run: Path, side: str) -> list[Photo]:
    """The photos of one side ("train", "validation", "test") of a training run's split.json."""
    split = run / "split.json"
    if not split.exists():
        raise GateError(f"{run} holds no split.json: give the candidate's training run with --run")
    return [Photo(Path(path), breed, source) for path, breed, source in json.loads(split.read_text())[side]]


def seen_in_training(run: Path | None) -> set[Path]:
    """Every photo a run trained, tuned or chose anything on (its train and validation sides)."""
    if run is None:
        return set()
    return {p.path.resolve() for side in ("train", "validation") for p in run_photos(run, side)}


def test_photos(run: Path, exclude: set[Path]) -> list[Photo]:
    """The run's test photos, but those in `exclude`; every file must be there."""
    photos = [p for p in run_photos(run, "test") if p.path.resolve() not in exclude]
    missing = [p.path for p in photos if not p.path.is_file()]
    if missing:
        raise GateError(
            f"{len(missing)} of the {len(photos)} test photos of {run} are not there (first: {missing[0]}); "
            "run the gate where the training data is"
        )
    return photos


def feedback_photos(export: Path, exclude: set[Path]) -> list[Photo]:
    """The photos of a reviewed feedback export, <export>/<Breed>/*, but those in `exclude`
    (photos a run trained on or tested: `make train FEEDBACK=` adds an export to the data)."""
    if not (export / "manifest.csv").exists():
        raise GateError(f"{export} is not a folder made by python -m catbreed_local.feedback_export")
    if (export / NOT_REVIEWED).exists():
        raise GateError(f"{export} is not reviewed yet: look at every photo, then delete {export / NOT_REVIEWED}")
    return [
        Photo(s.path, s.breed, FEEDBACK) for s in read_folder_root(export) if s.path.resolve() not in exclude
    ]


def dog_photos(folder: Path | None) -> list[Photo]:
    """Every photo of a folder of dogs (none when there is no folder)."""
    if folder is None or not folder.is_dir():
        return []
    return [Photo(p, "", "dogs") for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]


def answers(model_dir: Path, photos: Iterable[Photo]) -> Answers:
    """The model's answer to each photo, as POST /predict gives it (top breed, is_cat, confident)."""
    service = Service(Classifier(model_dir))
    bodies = []
    for photo in photos:
        try:
            bodies.append(service.predict(PredictRequest(url=None, image=photo.path.read_bytes(), top_k=1)).body)
        except CatbreedError:  # a photo it cannot read: left out of every measure
            bodies.append(None)
    return Answers(
        [body["predictions"][0]["breed"] if body else None for body in bodies],
        np.array([bool(body and body["is_cat"]) for body in bodies], dtype=bool),
        np.array([bool(body and body["confident"]) for body in bodies], dtype=bool),
    )


def breeds_of(model_dir: Path) -> set[str]:
    return set(json.loads((model_dir / "model_card.json").read_text())["breeds"])


def measures(
    photos: list[Photo], dogs: list[Photo], feedback: list[Photo], candidate: Path, in_service: Path
) -> list[Measure]:
    """Every measure of the gate, in-service model first, on the photos both models could read."""
    everything = photos + dogs + feedback
    got = {name: answers(model, everything) for name, model in (("in_service", in_service), ("candidate", candidate))}
    known = breeds_of(candidate) | breeds_of(in_service)
    truth = np.array([p.breed for p in everything])
    source = np.array([p.source for p in everything])
    part = np.array(["test"] * len(photos) + ["dogs"] * len(dogs) + [FEEDBACK] * len(feedback))
    both_read = got["in_service"].read & got["candidate"].read
    judged = both_read & np.isin(truth, list(known))
    right = {name: np.array(a.breed, dtype=object) == truth for name, a in got.items()}

    def measure(name: str, mask: np.ndarray, outcome: dict[str, np.ndarray]) -> list[Measure]:
        return [compare(name, outcome["in_service"][mask], outcome["candidate"][mask])] if mask.any() else []

    test = judged & (part == "test")
    sure_and_right = {name: right[name] & a.confident for name, a in got.items()}
    rejected = {name: ~a.is_cat for name, a in got.items()}
    return [
        *measure("top-1, test photos", test, right),
        *measure(f"top-1, {CURATED} (curated)", test & (source == CURATED), right),
        *measure(f"top-1, {SHELTER} (shelter)", test & (source == SHELTER), right),
        *measure("confident and right, test photos", test, sure_and_right),
        *measure("dogs rejected", both_read & (part == "dogs"), rejected),
        *measure("top-1, reviewed feedback", judged & (part == FEEDBACK), right),
    ]


def judge(
    candidate: Path,
    in_service: Path,
    run: Path,
    against_run: Path | None = None,
    feedback: Path | None = None,
    dogs: Path | None = None,
) -> list[Measure]:
    """Both models on the candidate run's test photos (less any the model in service's run
    trained on, when `against_run` names it), the dogs, and a reviewed feedback export."""
    photos = test_photos(run, seen_in_training(against_run))
    if not photos:
        raise GateError(f"{run} has no test photos the model in service did not train on")
    extra = feedback_photos(feedback, seen_in_training(run) | {p.path.resolve() for p in photos}) if feedback else []
    if against_run:
        extra = [p for p in extra if p.path.resolve() not in seen_in_training(against_run)]
    return measures(photos, dog_photos(dogs), extra, candidate, in_service)


def refused(found: list[Measure], alpha: float = ALPHA) -> list[Measure]:
    """The measures on which the candidate is worse beyond the noise (Bonferroni over all)."""
    bar = alpha / max(len(found), 1)
    return [m for m in found if m.only_in_service > m.only_candidate and m.p_worse < bar]


def table(found: list[Measure], alpha: float = ALPHA) -> str:
    """The side-by-side comparison, one line a measure, as Markdown."""
    worse = {m.name for m in refused(found, alpha)}
    lines = [
        "| measure | photos | in service | candidate | change | right only in service | right only candidate | p (worse) | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in found:
        verdict = "WORSE" if m.name in worse else ("better" if m.change > 0 else "ok")
        lines.append(
            f"| {m.name} | {m.photos:,} | {m.in_service:.1%} | {m.candidate:.1%} | {100 * m.change:+.1f} pt | "
            f"{m.only_in_service:,} | {m.only_candidate:,} | {m.p_worse:.3g} | {verdict} |"
        )
    return "\n".join(lines)


def ship(candidate: Path, target: Path) -> None:
    """Copy the candidate's files over the model in `target`, all of them or none."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".promote-") as staging:
        for artifact in ARTIFACTS:
            shutil.copy2(candidate / artifact, Path(staging) / artifact)
        for artifact in ARTIFACTS:
            (Path(staging) / artifact).replace(target / artifact)


def report(found: list[Measure], alpha: float = ALPHA) -> dict:
    """The comparison as JSON: every measure, the bar, and the verdict."""
    worse = [m.name for m in refused(found, alpha)]
    return {
        "test": "exact one-sided McNemar per measure, Bonferroni over the measures",
        "alpha": alpha,
        "bar": alpha / max(len(found), 1),
        "measures": [asdict(m) | {"change": m.change} for m in found],
        "worse": worse,
        "accepted": not worse,
    }
