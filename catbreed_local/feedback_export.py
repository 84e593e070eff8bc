"""Export the photos owners let catbreed keep, for a person to review before any training.

    .venv/bin/python -m catbreed_local.feedback_export OUT                      # the local folder (make run)
    .venv/bin/python -m catbreed_local.feedback_export OUT --stack NAME --since 2026-11-01   # the stack's bucket
    .venv/bin/python -m catbreed_local.feedback_export OUT --stack NAME --reviewed   # after the review: keep those

Writes each kept photo to OUT/<Breed>/<id>.<ext> (the breed the owner named, or the one the
model answered when the owner said it was right), photos labelled "mix", "not_a_cat" or
"other" to OUT/_not_a_breed/<label>/ (the training reader never reads that deep), a manifest
OUT/manifest.csv (one row a photo: what the client said the model answered, what the model
answers for the kept photo, whether they agree, what the owner said, when), and
OUT/NOT_REVIEWED.txt, which `make train FEEDBACK=OUT` refuses until a person has looked at
every photo and deleted the file. Owners' corrections are untrusted input (docs/feedback.md),
and so is the store itself: a record that is not what POST /feedback writes (its id, labels,
photo name) is left out and named, and no path leaves OUT or the store.

With --reviewed (after the marker is deleted), the photos still in OUT are marked reviewed in
the bucket, which keeps them FeedbackRetentionDays; the rest expire after FeedbackUnreviewedDays.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from catbreed.errors import InvalidRequest
from catbreed.feedback import ID, OTHER_LABELS, RECORD_MAX_BYTES, VERDICTS, check_answer, clean_text, own_photo
from catbreed.feedback_store import BucketStore, FeedbackStore, FolderStore
from catbreed.limits import PHOTO_MAX_BYTES
from catbreed.model import DEFAULT_MODEL_DIR
from catbreed.settings import Settings
from catbreed_local.cli_errors import aws_problem

MARKER = "NOT_REVIEWED.txt"
NOT_A_BREED = "_not_a_breed"
RECORD_NAME = re.compile(r"^([0-9a-f]{32})/record\.json$")
EXPORTED_NAME = re.compile(r"^([0-9a-f]{32})\.[a-z]{3,4}$")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
COLUMNS = [
    "file", "breed", "verdict", "label", "label_text", "answered", "answered_probability",
    "server_answered", "server_probability", "agrees", "model", "time", "id",
]  # fmt: skip
MARKER_TEXT = """These photos come from owners and are NOT reviewed yet.
Look at every photo: delete any that is not a cat of its folder's breed (or that you would
not want to train on), move those you can place into the right folder, then delete this file.
manifest.csv's "answered" is what the owner's client said the model answered; "server_answered"
is what the model answers for the kept photo. Where "agrees" is "no", the client's claim is not
the model's: look twice at those.
`make train FEEDBACK=<this folder>` refuses while it is here.
"""


class BadRecord(ValueError):
    """A stored record that is not one POST /feedback writes."""


@dataclass(frozen=True)
class Exported:
    """What one export did."""

    photos: int
    disagreeing: int  # rows whose client's answer is not the model's answer for the kept photo
    refused: list[str]  # "<name>: <why>" of each record left out


def known_labels(model_dir: Path = DEFAULT_MODEL_DIR) -> frozenset[str]:
    """The breeds of the model card, and the labels that are not breeds."""
    card = json.loads((model_dir / "model_card.json").read_text(encoding="utf-8"))
    return frozenset(card["breeds"]) | frozenset(OTHER_LABELS)


def check_record(record: Any, name: str, labels: frozenset[str]) -> dict:
    """`record` (stored as `name`) as POST /feedback writes it, or BadRecord: its id is its
    folder's, its verdict and labels are known, its answers name known breeds, its photo is its own."""
    match = RECORD_NAME.fullmatch(name)
    if not isinstance(record, dict) or not match or record.get("id") != match.group(1) or not ID.fullmatch(match.group(1)):
        raise BadRecord("its id is not its folder's")
    breeds = sorted(labels - set(OTHER_LABELS))
    try:
        check_answer(record.get("answer"), breeds)
        if record.get("server_answer") is not None:
            check_answer(record["server_answer"], breeds)
        if record.get("verdict") not in VERDICTS:
            raise BadRecord("an unknown verdict")
        label, text = record.get("label"), record.get("label_text")
        if (record["verdict"] == "right") != (label is None) or (label is not None and label not in labels):
            raise BadRecord(f"an unknown label {str(label)[:40]!r}")
        if (label == "other") != (text is not None) or (text is not None and clean_text(text) != text):
            raise BadRecord("label_text is not the owner's cleaned words")
        time = datetime.fromisoformat(str(record.get("time")))
    except (InvalidRequest, ValueError) as exc:
        raise BadRecord(str(exc) or "malformed") from exc
    if time.tzinfo is None:
        raise BadRecord("its time has no time zone")
    if own_photo(record) is None:
        raise BadRecord("its photo is not its own")
    return record


def records(store: FeedbackStore, since: datetime | None, labels: frozenset[str], refused: list[str]) -> Iterator[dict]:
    """The kept records that check, oldest first, from `since` on (inclusive); each one that
    does not check is named in `refused`."""
    found = []
    for name in store.names():
        if not name.endswith("/record.json"):
            continue
        data = store.get(name, RECORD_MAX_BYTES)
        if data is None:  # withdrawn since the listing, or too large to be ours
            continue
        try:
            record = check_record(json.loads(data), name, labels)
        except (BadRecord, ValueError) as exc:
            refused.append(f"{name}: {exc}")
            continue
        if since is None or datetime.fromisoformat(record["time"]) >= since:
            found.append(record)
    return iter(sorted(found, key=lambda r: r["time"]))


def folder_of(record: dict) -> str:
    """OUT's subfolder for a record: the breed (spaces as underscores), or _not_a_breed/<label>."""
    breed = record["answer"]["predictions"][0]["breed"] if record["verdict"] == "right" else record["label"]
    if breed in OTHER_LABELS:
        return f"{NOT_A_BREED}/{breed}"
    return breed.replace(" ", "_")


def inside(path: Path, folder: Path) -> Path:
    """`path`, which must stay inside `folder` (BadRecord otherwise)."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise BadRecord(f"{path} would leave {folder}")
    return path


def cell(value: Any) -> Any:
    """A manifest cell a spreadsheet shows as text: one that would start a formula gets a leading '."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def row_of(record: dict, file: str, folder: str) -> dict:
    """The manifest's row for an exported record."""
    top = record["answer"]["predictions"][0]
    server = (record.get("server_answer") or {}).get("predictions") or [{}]
    agrees = "" if not server[0] else ("yes" if server[0]["breed"] == top["breed"] else "no")
    return {
        "file": file,
        "breed": "" if folder.startswith(NOT_A_BREED) else folder.replace("_", " "),
        "verdict": record["verdict"],
        "label": record["label"] or "",
        "label_text": record["label_text"] or "",
        "answered": top["breed"],
        "answered_probability": top["probability"],
        "server_answered": server[0].get("breed", ""),
        "server_probability": server[0].get("probability", ""),
        "agrees": agrees,
        "model": f"{record['answer']['model']['name']} {record['answer']['model']['version']}",
        "time": record["time"],
        "id": record["id"],
    }


def export(store: FeedbackStore, out: Path, since: datetime | None = None, labels: frozenset[str] | None = None) -> Exported:
    """Write the photos, the manifest and the marker into `out` (new or empty)."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; export into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    refused: list[str] = []
    for record in records(store, since, labels or known_labels(), refused):
        photo = store.get(record["photo"], PHOTO_MAX_BYTES)
        if photo is None:  # withdrawn between listing and reading
            continue
        folder = folder_of(record)
        try:
            target = inside(out / folder / f"{record['id']}{Path(record['photo']).suffix}", out)
        except BadRecord as exc:
            refused.append(f"{record['id']}/record.json: {exc}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(photo)
        rows.append(row_of(record, target.relative_to(out).as_posix(), folder))
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({key: cell(value) for key, value in row.items()} for row in rows)
    (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return Exported(len(rows), sum(row["agrees"] == "no" for row in rows), refused)


def mark_reviewed(store: FeedbackStore, out: Path) -> int:
    """After the review: mark the photos still in `out` (and their records) reviewed in the
    store; the count. Refused while the marker is there."""
    if not (out / "manifest.csv").is_file():
        raise SystemExit(f"{out} is not a folder made by this script")
    if (out / MARKER).exists():
        raise SystemExit(f"{out} is not reviewed yet: look at every photo, then delete {out / MARKER}")
    ids = sorted({m.group(1) for path in out.rglob("*") if path.is_file() and (m := EXPORTED_NAME.fullmatch(path.name))})
    for feedback_id in ids:
        record = json.loads(store.get(f"{feedback_id}/record.json", RECORD_MAX_BYTES) or "null")
        photo = own_photo(record) if isinstance(record, dict) else None
        if photo is None:  # withdrawn by its owner since the export, or not ours
            continue
        store.mark_reviewed(photo)
        store.mark_reviewed(f"{feedback_id}/record.json")
    return len(ids)


def stack_bucket(stack: str, region: str | None) -> str:
    """The stack's upload bucket (its UploadBucketName output)."""
    import boto3

    described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
    return outputs["UploadBucketName"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="a new folder: <Breed>/ photos, manifest.csv, NOT_REVIEWED.txt")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--from", dest="folder", type=Path, help="a local feedback folder (default: CATBREED_FEEDBACK_DIR or feedback-local/)"
    )
    where.add_argument("--stack", help="a deployed stack: read feedback/ of its upload bucket (needs s3:ListBucket)")
    where.add_argument("--bucket", help="read feedback/ of this bucket")
    parser.add_argument("--region", default=None)
    parser.add_argument("--since", type=date.fromisoformat, help="only feedback from this day on (YYYY-MM-DD, UTC)")
    parser.add_argument("--reviewed", action="store_true", help="OUT is reviewed: keep its photos for FeedbackRetentionDays")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    """Do what the arguments ask; the line to print."""
    settings = Settings.from_env()
    if args.stack or args.bucket:
        store: FeedbackStore = BucketStore(args.bucket or stack_bucket(args.stack, args.region), endpoint=settings.s3_endpoint)
    else:
        folder = args.folder or settings.feedback_dir
        if not folder.is_dir():
            raise SystemExit(f"there is no feedback folder {folder}: pass --from FOLDER, --stack NAME or --bucket NAME")
        store = FolderStore(folder)
    if args.reviewed:
        return f"{mark_reviewed(store, args.out)} reviewed photos in {args.out} are kept for training"
    since = datetime(args.since.year, args.since.month, args.since.day, tzinfo=UTC) if args.since else None
    done = export(store, args.out, since)
    for line in done.refused:
        print(f"feedback_export: left out {line}", file=sys.stderr)
    return (
        f"{done.photos} photos in {args.out} ({done.disagreeing} where the client's answer is not the model's); "
        f"review every one, then delete {args.out / MARKER}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        print(run(args))
    except SystemExit as stop:
        print(f"feedback_export: {stop}", file=sys.stderr)
        return 2
    except Exception as error:
        problem = aws_problem(error)
        if problem is None:
            raise
        print(f"feedback_export: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
