"""What the function writes for CloudWatch: one JSON log record a request (never the photo),
one record an exception, and metrics in embedded metric format."""

from __future__ import annotations

import json
from types import SimpleNamespace

from catbreed import telemetry
from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import FolderStore
from catbreed.gateway import Gateway
from catbreed.service import Service

from ..helpers import FIXTURES, LOOPBACK_ONLY, b64, metric_values, v2_event


def test_one_request_record_with_its_facts_and_never_the_photo(gateway, cat_jpeg: bytes, telemetry_records) -> None:
    event = v2_event(body=json.dumps({"image": b64(cat_jpeg)}))
    gateway.handle(event)
    records = telemetry_records()
    (request,) = [r for r in records if r.get("message") == "request"]
    assert request["level"] == "INFO" and request["timestamp"].startswith("20")
    assert request["request_id"] == event["requestContext"]["requestId"]
    assert (request["route"], request["status"], request["outcome"]) == ("POST /predict", 200, "ok")
    assert (request["source"], request["photo_bytes"]) == ("image", len(cat_jpeg))
    assert set(request["timings_ms"]) == {"classify", "total"}
    assert b64(cat_jpeg)[:40] not in json.dumps(records)


def test_only_the_first_request_of_a_process_is_a_cold_start(gateway, telemetry_records, monkeypatch) -> None:
    monkeypatch.setattr(telemetry, "_cold_start", True)  # as in a fresh process
    gateway.handle({"url": "ftp://x.test/a.jpg"}, SimpleNamespace(aws_request_id="first"))
    gateway.handle({"url": "ftp://x.test/b.jpg"}, SimpleNamespace(aws_request_id="second"))
    requests = [r for r in telemetry_records() if r.get("message") == "request"]
    assert [(r["request_id"], r["cold_start"]) for r in requests] == [("first", True), ("second", False)]


def test_metrics_of_an_answer(gateway, cat_jpeg: bytes, telemetry_records) -> None:
    body = gateway.handle({"image": b64(cat_jpeg)})
    metrics = metric_values(telemetry_records())
    assert metrics["PhotoBytes"] == [(len(cat_jpeg), {"service": "catbreed"})]
    assert metrics["NotACat"][0][0] == 0  # a cat
    assert metrics["NotSure"][0][0] == int(not body["confident"])
    assert metrics["BreedAnswered"] == [(1, {"service": "catbreed", "breed": body["predictions"][0]["breed"]})]
    assert len(metrics["Latency"]) == 1 and "Errors" not in metrics


def test_a_photo_without_a_cat_counts_as_not_a_cat_and_not_sure(gateway, telemetry_records) -> None:
    gateway.handle({"image": b64((FIXTURES / "coffee.jpg").read_bytes())})
    metrics = metric_values(telemetry_records())
    assert metrics["NotACat"][0][0] == 1 and metrics["NotSure"][0][0] == 1


def test_errors_are_counted_by_code(gateway, telemetry_records) -> None:
    gateway.handle({"url": "ftp://x.test/cat.jpg"})
    records = telemetry_records()
    assert metric_values(records)["Errors"] == [(1, {"service": "catbreed", "code": "invalid_url"})]
    (request,) = [r for r in records if r.get("message") == "request"]
    assert (request["status"], request["outcome"]) == (400, "invalid_url")


def test_an_exception_is_one_record_not_a_traceback(gateway, cat_jpeg: bytes, telemetry_records, monkeypatch) -> None:
    def broken(photo: bytes) -> None:
        raise RuntimeError("interpreter exploded")

    monkeypatch.setattr(gateway.service.classifier, "predict", broken)
    gateway.handle({"image": b64(cat_jpeg)})
    records = telemetry_records()  # every line of output parsed as one JSON record
    (failure,) = [r for r in records if r.get("level") == "ERROR"]
    assert failure["message"] == "unhandled error" and failure["exception_name"] == "RuntimeError"
    assert "interpreter exploded" in failure["exception"]
    (request,) = [r for r in records if r.get("message") == "request"]
    assert (request["status"], request["outcome"], request["request_id"]) == (500, "internal_error", failure["request_id"])


def test_each_request_is_counted_under_the_function_version_that_served_it(gateway, cat_jpeg, telemetry_records, monkeypatch):
    """During a rollout CodeDeploy's alarms compare these between versions (template.yaml)."""
    monkeypatch.setattr(telemetry, "FUNCTION_VERSION", "7")
    body = gateway.handle({"image": b64(cat_jpeg)})
    gateway.handle({"url": "ftp://x.test/cat.jpg"})
    metrics = metric_values(telemetry_records())
    by_version = {"service": "catbreed", "function_version": "7"}
    assert metrics["InternalError"] == [(0, by_version), (0, by_version)]  # an answer and a caller's mistake
    assert (int(not body["is_cat"]), by_version) in metrics["NotACat"]
    assert (int(not body["confident"]), by_version) in metrics["NotSure"]
    assert [dims for _, dims in metrics["NotSure"]] == [{"service": "catbreed"}, by_version]  # all versions, and this one


def test_an_internal_error_counts_against_its_version(gateway, cat_jpeg, telemetry_records, monkeypatch) -> None:
    def broken(photo: bytes) -> None:
        raise RuntimeError("interpreter exploded")

    monkeypatch.setattr(gateway.service.classifier, "predict", broken)
    gateway.handle({"image": b64(cat_jpeg)})
    metrics = metric_values(telemetry_records())
    assert metrics["InternalError"] == [(1, {"service": "catbreed", "function_version": "$LATEST"})]
    assert "NotSure" not in metrics  # no answer


def test_the_request_record_names_the_function_version_and_the_model_version(classifier, cat_jpeg, telemetry_records, tmp_path):
    gateway = Gateway(Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(tmp_path))))
    body = gateway.handle({"image": b64(cat_jpeg)})
    records = telemetry_records()
    (request,) = [r for r in records if r.get("message") == "request"]
    assert request["function_version"] == "$LATEST"
    assert request["answer"] == {
        "model_version": body["model"]["version"],
        "not_a_cat": int(not body["is_cat"]),
        "not_sure": int(not body["confident"]),
    }
    answer = {"predictions": body["predictions"], "model": {"name": body["model"]["name"], "version": "2020.1.0"}}
    event = v2_event(path="/feedback", body=json.dumps({"answer": answer, "verdict": "right", "consent": False}))
    assert gateway.handle(event)["statusCode"] == 200
    (verdict,) = [r for r in telemetry_records() if r.get("message") == "request"]
    assert verdict["verdict"] == {"model_version": "2020.1.0", "breed": body["predictions"][0]["breed"], "right": 1}
    assert "2020.1.0" not in json.dumps(metric_values(telemetry_records()))  # a version the client sent: never a dimension
