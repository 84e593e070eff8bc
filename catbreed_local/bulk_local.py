"""Bulk on this machine: every file under a folder through the shipped model and the same
service code as POST /predict, one process per core, into the bulk CSV. Whatever is not a
readable photo (a damaged file, a link to nothing, a FIFO) is a row with its error."""

from __future__ import annotations

import importlib
import os
import signal
import stat
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from catbreed_local.bulk_rows import TOP, BulkError, CsvOut, Tally, done_paths, row_for
from catbreed_local.litert_notice import without_xnnpack_notice
from catbreed_local.progress import progress

RUNTIME_MODULES = ("catbreed.model", "catbreed.service")

_service: Any = None
_start_error = ""


def check_runtime(model_dir: Path | None) -> None:
    """Fail before any worker starts when this Python lacks the runtime (ModuleNotFoundError,
    for the caller to word) or the model is missing (BulkError)."""
    for module in RUNTIME_MODULES:
        importlib.import_module(module)
    from catbreed.model import DEFAULT_MODEL_DIR

    folder = model_dir or DEFAULT_MODEL_DIR
    if not (folder / "model_card.json").is_file():
        raise BulkError(f"no model in {folder} (model_card.json is missing); pass --model-dir FOLDER")


def _start_worker(model_dir: Path | None) -> None:
    """Each worker process loads the model once (one inference thread: the processes use the
    cores). A failure is kept, and every photo of this worker then raises it as a BulkError."""
    global _service, _start_error
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        from catbreed.model import DEFAULT_MODEL_DIR, Classifier
        from catbreed.service import Service

        with without_xnnpack_notice():  # LiteRT's INFO line, once per worker otherwise
            _service = Service(Classifier(model_dir or DEFAULT_MODEL_DIR, num_threads=1))
    except Exception as exc:
        _start_error = f"a worker could not load the model: {type(exc).__name__}: {exc}"


def classify_file(path: str) -> dict:
    """The row for one file, exactly as POST /predict would answer for its bytes."""
    from catbreed.errors import INTERNAL_ERROR_BODY, CatbreedError, PhotoNotFound

    if _service is None:
        raise BulkError(_start_error or "the worker did not start")
    try:
        answer = _service.predict_stored(read_photo_file(path), TOP).body
    except CatbreedError as exc:
        answer = exc.to_body()
    except OSError as exc:
        answer = PhotoNotFound(f"The file cannot be read: {exc.strerror or exc}.").to_body()
    except Exception:  # a crash in one photo must not end the run
        answer = INTERNAL_ERROR_BODY
    return row_for(path, answer)


def read_photo_file(path: str) -> bytes:
    """The bytes of a regular file (through a link); a link to nothing, a FIFO, a socket or a
    device is a PhotoNotFound, and is never opened (a FIFO would wait for a writer)."""
    from catbreed.errors import PhotoNotFound

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not os.path.islink(path):
            raise  # gone since it was listed: the OSError's own words
        raise PhotoNotFound("The file cannot be read: it is a link to nothing.") from None
    if not stat.S_ISREG(mode):
        raise PhotoNotFound("The file cannot be read: it is not a regular file (a FIFO, a socket or a device).")
    return Path(path).read_bytes()


def files_in(folder: Path, skip: Path) -> list[str]:
    """Everything under the folder that is not a folder (a link to nothing or a FIFO too, to
    become its error row) and not hidden, sorted; the output CSV itself excluded."""

    def wanted(path: Path) -> bool:
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        return not path.is_dir() and not hidden and path.resolve() != skip.resolve()

    return [str(path) for path in sorted(folder.rglob("*")) if wanted(path)]


def run_local(folder: Path, out: Path, workers: int, model_dir: Path | None = None) -> Tally:
    """Classify the folder into the CSV; returns the tally of the rows it wrote. A folder with
    nothing to classify is a BulkError."""
    if not folder.is_dir():
        raise BulkError(f"{folder} is not a folder")
    check_runtime(model_dir)
    done = done_paths(out)
    every = files_in(folder, out)
    if not every:
        raise BulkError(f"{folder} holds no files to classify (hidden ones are skipped)")
    todo = [p for p in every if p not in done]
    if not todo:
        return Tally()
    sink = CsvOut(out)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(model_dir,))
    try:
        rows = pool.map(classify_file, todo, chunksize=4)
        for row in progress(rows, total=len(todo), unit="photo", desc="classifying"):
            sink.write(row)
    except BrokenProcessPool as exc:
        raise BulkError(f"a worker process died ({exc}); try fewer --workers") from exc
    finally:  # on an error or Ctrl-C, the photos not started yet are dropped, not waited for
        pool.shutdown(wait=True, cancel_futures=True)
        sink.close()
    return sink.tally
