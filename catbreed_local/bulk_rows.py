"""The bulk CSV: its columns, the row an API answer makes, and a file that a run appends to
and a later run resumes (rows already answered are skipped)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from catbreed.limits import DEFAULT_TOP_K

TOP = DEFAULT_TOP_K  # the breeds of an answer, as /predict gives them by default
TOP_COLUMNS = [f"{name}_{i}" for i in range(1, TOP + 1) for name in ("breed", "probability")]
COLUMNS = ["path", *TOP_COLUMNS, "is_cat", "confident", "error"]

# The error of a photo whose batch never ran on AWS (it failed, or the run ended first): not an
# answer about the photo, so a later run drops the row and tries the photo again.
BATCH_FAILED, BATCH_UNFINISHED = "batch_failed", "batch_unfinished"
RETRIED = (f"{BATCH_FAILED}: ", f"{BATCH_UNFINISHED}: ")


class BulkError(Exception):
    """A problem that ends a bulk run; the message is one line that says what to do."""


@dataclass
class Tally:
    """The rows a run wrote: photos answered (of them, not cats) and rows with an error."""

    answered: int = 0
    not_cats: int = 0
    failed: int = 0

    @property
    def rows(self) -> int:
        return self.answered + self.failed

    def add(self, row: dict) -> None:
        if row["error"]:
            self.failed += 1
        else:
            self.answered += 1
            self.not_cats += row["is_cat"] in (False, "False")

    def summary(self, out: Path) -> str:
        """'7 new rows in r.csv: 5 answered (1 not a cat), 2 failed (see the error column)'."""
        cats = f"{self.not_cats} not a cat" if self.not_cats == 1 else f"{self.not_cats} not cats"
        failed = f", {self.failed} failed (see the error column)" if self.failed else ", none failed"
        return f"{self.rows} new rows in {out}: {self.answered} answered ({cats}){failed}"


def row_for(path: str, answer: dict) -> dict:
    """One CSV row from an answer of the API (the /predict body, or {"error": {...}})."""
    row = dict.fromkeys(COLUMNS, "")
    row["path"] = path
    if "error" in answer:
        error = answer["error"]
        row["error"] = f"{error.get('code', 'error')}: {error.get('message', '')}" if isinstance(error, dict) else str(error)
        return row
    for i, item in enumerate(answer["predictions"][:TOP], start=1):
        row[f"breed_{i}"], row[f"probability_{i}"] = item["breed"], item["probability"]
    row["is_cat"], row["confident"] = answer["is_cat"], answer.get("confident", "")
    return row


def read_rows(out: Path) -> list[dict]:
    """The rows of an output CSV (none when it is absent or empty); a foreign file is a BulkError."""
    if not out.exists() or out.stat().st_size == 0:
        return []
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise BulkError(f"{out} exists but is not a bulk.py CSV (its columns differ); choose another --out")
        return list(reader)


def done_paths(out: Path) -> set[str]:
    """Paths already answered in the output CSV. Rows of photos whose batch never ran are
    taken out of the file here, so that this run classifies them again."""
    rows = read_rows(out)
    answered = [row for row in rows if not row["error"].startswith(RETRIED)]
    if len(answered) < len(rows):
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(answered)
    return {row["path"] for row in answered}


class CsvOut:
    """Appends rows to the CSV, header first when the file is new, flushed row by row, and
    counts them (`tally`)."""

    def __init__(self, out: Path) -> None:
        new = not out.exists() or out.stat().st_size == 0
        self.handle = out.open("a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.handle, fieldnames=COLUMNS)
        self.tally = Tally()
        if new:
            self.writer.writeheader()

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.handle.flush()
        self.tally.add(row)

    def close(self) -> None:
        self.handle.close()


def write_new(out: Path, rows: Iterable[dict]) -> Tally:
    """Append the rows whose path is not answered in the CSV yet; returns their tally."""
    done, sink = done_paths(out), CsvOut(out)
    try:
        for row in rows:
            if row["path"] not in done:
                sink.write(row)
                done.add(row["path"])
    finally:
        sink.close()
    return sink.tally
