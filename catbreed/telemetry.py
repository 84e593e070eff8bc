"""What the function tells CloudWatch, through Powertools for AWS Lambda: one JSON log record
per request (level, time, request id, cold start, outcome, timings; never the photo), one per
exception, and metrics in embedded metric format.

Every `catbreed.*` logger writes through the same JSON formatter. POWERTOOLS_LOG_LEVEL=WARNING
silences the request records and POWERTOOLS_METRICS_DISABLED=true the metrics (benchmarks).

During a rollout two versions of the function serve at once (docs/rollout.md): each request is
also counted under the function version that served it (InternalError, NotACat, NotSure), which
CodeDeploy's alarms compare with the other versions' (template.yaml). One value per deployment
keeps that dimension small. The model's version is in every answer's and verdict's log record
(an owner's verdict names the model of the answer it judges, which the client sends: a log
field, never a metric dimension, so nobody can mint metrics by sending versions).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from catbreed.feedback import Verdict
    from catbreed.service import Answer

NAMESPACE = "Catbreed"
SERVICE = "catbreed"

logger = Logger(service=SERVICE, use_rfc3339=True)  # the "catbreed" logger: catbreed.* propagate into it
logging.getLogger(SERVICE).propagate = False  # not again through the Lambda runtime's root handler
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
FUNCTION_VERSION = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")  # set by Lambda: the version serving
_lock = threading.Lock()  # the local server answers on several threads; one request's metrics flush together
_cold_start = True


@dataclass
class Record:
    """What one request did, as its log record and metrics report it."""

    request_id: str
    event: str  # "direct", "batch", "v1" or "v2"
    route: str
    status: int = 200
    outcome: str = "ok"  # or the error code
    answer: Answer | None = None  # what the service answered: a prediction's facts, a feedback's verdict
    total_ms: float = 0.0


def report(record: Record) -> None:
    """Write the request's log record and flush its metrics."""
    global _cold_start
    with _lock:
        cold_start, _cold_start = _cold_start, False
        answer = record.answer if record.answer and record.answer.is_prediction else None
        verdict = record.answer.verdict if record.answer else None
        logger.info(
            "request",
            extra={
                "request_id": record.request_id,
                "cold_start": cold_start,
                "event": record.event,
                "route": record.route,
                "status": record.status,
                "outcome": record.outcome,
                "source": answer.source if answer else "",
                "photo_bytes": answer.photo_bytes if answer else 0,
                "timings_ms": {**(answer.timings_ms if answer else {}), "total": record.total_ms},
                "function_version": FUNCTION_VERSION,
                **_versioned_facts(record),
            },
        )
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=record.total_ms)
        if answer:
            metrics.add_metric(name="PhotoBytes", unit=MetricUnit.Bytes, value=answer.photo_bytes)
            metrics.add_metric(name="NotACat", unit=MetricUnit.Count, value=int(not answer.body["is_cat"]))
            metrics.add_metric(name="NotSure", unit=MetricUnit.Count, value=int(not answer.body["confident"]))
        _flush()
        _by_function_version(record)
        if answer:
            _count("BreedAnswered", breed=answer.body["predictions"][0]["breed"])
        if record.outcome != "ok":
            _count("Errors", code=record.outcome)
        if verdict:
            _count("Feedback", breed=verdict.breed, verdict=verdict.verdict)
            _reported_right(verdict)
            if verdict.kept_bytes:
                metrics.add_metric(name="FeedbackKeptBytes", unit=MetricUnit.Bytes, value=verdict.kept_bytes)
                _flush()


def _versioned_facts(record: Record) -> dict:
    """What the request record says of the answer or the verdict, with the model's version
    (the dashboard's tables by model version read these fields)."""
    facts: dict = {}
    answer = record.answer if record.answer and record.answer.is_prediction else None
    verdict = record.answer.verdict if record.answer else None
    if answer:
        body = answer.body
        facts["answer"] = {
            "model_version": body["model"]["version"],
            "not_a_cat": int(not body["is_cat"]),
            "not_sure": int(not body["confident"]),
        }
    if verdict:
        facts["verdict"] = {
            "model_version": verdict.model_version,
            "breed": verdict.breed,
            "right": int(verdict.verdict == "right"),
        }
    return facts


def _by_function_version(record: Record) -> None:
    """The canary's measures under the version that served: internal errors (of all requests)
    and "not a cat" and "not sure" (of answers)."""
    metrics.add_dimension(name="function_version", value=FUNCTION_VERSION)
    metrics.add_metric(name="InternalError", unit=MetricUnit.Count, value=int(record.outcome == "internal_error"))
    if record.answer and record.answer.is_prediction:
        metrics.add_metric(name="NotACat", unit=MetricUnit.Count, value=int(not record.answer.body["is_cat"]))
        metrics.add_metric(name="NotSure", unit=MetricUnit.Count, value=int(not record.answer.body["confident"]))
    _flush()


def _reported_right(verdict: Verdict) -> None:
    """1 for "right", 0 for "wrong", by the breed answered: its average is the accuracy
    owners report for that breed (the dashboard's per-breed line)."""
    metrics.add_dimension(name="breed", value=verdict.breed)
    metrics.add_metric(name="ReportedRight", unit=MetricUnit.Count, value=int(verdict.verdict == "right"))
    _flush()


def _count(name: str, **dimension: str) -> None:
    """A count of one in a metrics record of its own, under its dimension (breed, error code)."""
    for key, value in dimension.items():
        metrics.add_dimension(name=key, value=value)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    _flush()


def _flush() -> None:
    """Print the metrics record; clear it also when metrics are disabled (Powertools keeps it then)."""
    metrics.flush_metrics()
    metrics.clear_metrics()
