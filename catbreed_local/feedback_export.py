"""Export the photos owners let catbreed keep, for a person to review before any training.

    .venv/bin/python -m catbreed_local.feedback_export OUT                      # the local folder (make run)
    .venv/bin/python -m catbreed_local.feedback_export OUT --stack NAME --since 2026-11-01   # the stack's bucket

Writes each kept photo to OUT/<Breed>/<id>.<ext> (the breed the owner named, or the one the
model answered when the owner said it was right), photos labelled "mix", "not_a_cat" or
"other" to OUT/_not_a_breed/<label>/ (the training reader never reads that deep), a manifest
OUT/manifest.csv (one row a photo: what the model said, what the owner said, when), and
OUT/NOT_REVIEWED.txt, which `make train FEEDBACK=OUT` refuses until a person has looked at
every photo and deleted the file. Owners' corrections are untrusted input (README: Feedback).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from catbreed.feedback import OTHER_LABELS, RECORD_MAX_BYTES
from catbreed.feedback_store import BucketStore, FeedbackStore, FolderStore
from catbreed.limits import PHOTO_MAX_BYTES
from catbreed.settings import Settings

MARKER = "NOT_REVIEWED.txt"
NOT_A_BREED = "_not_a_breed"
COLUMNS = ["file", "breed", "verdict", "label", "label_text", "answered", "answered_probability", "model", "time", "id"]
MARKER_TEXT = """These photos come from owners and are NOT reviewed yet.
Look at every photo: delete any that is not a cat of its folder's breed (or that you would
not want to train on), move those you can place into the right folder, then delete this file.
`make train FEEDBACK=<this folder>` refuses while it is here.
"""


def records(store: FeedbackStore, since: datetime | None) -> Iterator[dict]:
    """The kept records, oldest first, from `since` on."""
    found = []
    for name in store.names():
        if name.endswith("/record.json"):
            data = store.get(name, RECORD_MAX_BYTES)
            record = json.loads(data) if data else None
            if record and (since is None or datetime.fromisoformat(record["time"]) >= since):
                found.append(record)
    return iter(sorted(found, key=lambda r: r["time"]))


def folder_of(record: dict) -> str:
    """OUT's subfolder for a record: the breed (spaces as underscores), or _not_a_breed/<label>."""
    breed = record["answer"]["predictions"][0]["breed"] if record["verdict"] == "right" else record["label"]
    if breed in OTHER_LABELS:
        return f"{NOT_A_BREED}/{breed}"
    return breed.replace(" ", "_")


def export(store: FeedbackStore, out: Path, since: datetime | None = None) -> int:
    """Write the photos, the manifest and the marker into `out` (new or empty); the count."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; export into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in records(store, since):
        photo = store.get(record["photo"], PHOTO_MAX_BYTES)
        if photo is None:  # withdrawn between listing and reading
            continue
        folder = folder_of(record)
        target = out / folder / f"{record['id']}{Path(record['photo']).suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(photo)
        top = record["answer"]["predictions"][0]
        rows.append(
            {
                "file": target.relative_to(out).as_posix(),
                "breed": "" if folder.startswith(NOT_A_BREED) else folder.replace("_", " "),
                "verdict": record["verdict"],
                "label": record["label"] or "",
                "label_text": record["label_text"] or "",
                "answered": top["breed"],
                "answered_probability": top["probability"],
                "model": f"{record['answer']['model']['name']} {record['answer']['model']['version']}",
                "time": record["time"],
                "id": record["id"],
            }
        )
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return len(rows)


def stack_bucket(stack: str, region: str | None) -> str:
    """The stack's upload bucket (its UploadBucketName output)."""
    import boto3

    described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
    return outputs["UploadBucketName"]


def main(argv: list[str] | None = None) -> None:
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
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.stack or args.bucket:
        store: FeedbackStore = BucketStore(args.bucket or stack_bucket(args.stack, args.region), endpoint=settings.s3_endpoint)
    else:
        store = FolderStore(args.folder or settings.feedback_dir)
    since = datetime(args.since.year, args.since.month, args.since.day, tzinfo=UTC) if args.since else None
    count = export(store, args.out, since)
    print(f"{count} photos in {args.out}; review every one, then delete {args.out / MARKER}")


if __name__ == "__main__":
    main()
