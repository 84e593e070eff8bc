"""Feedback in the SAM template, after SAM's transform as CloudFormation runs it: kept photos
nobody reviewed expire after a month, reviewed ones by a parameter (default a year), the
function may write (tagged), read and delete only feedback/* (besides uploads/*) and list
nothing, the bucket stays private, POST /feedback has a throttle of its own and the bytes it
keeps an alarm; and the dashboard and the alarm watch exactly metrics the function emits, with
the dimensions it emits them under. Every checkov finding the template skips says why."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import FolderStore
from catbreed.gateway import Gateway
from catbreed.service import Service

from ..helpers import LOOPBACK_ONLY, b64, metric_values, v2_event

SEARCH = re.compile(r"SEARCH\('\{(\w+),([\w,]+)\} MetricName=\"(\w+)\"((?: \w+=\"\w+\")*)'")


def test_unreviewed_feedback_expires_sooner_than_reviewed(deployed: dict) -> None:
    from catbreed.feedback_store import PENDING, REVIEW_TAG

    assert deployed["Parameters"]["FeedbackRetentionDays"]["Default"] == 365
    assert deployed["Parameters"]["FeedbackUnreviewedDays"]["Default"] == 30
    rules = deployed["Resources"]["UploadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    on_feedback = {json.dumps(r.get("TagFilters")): r for r in rules if r.get("Prefix") == "feedback/"}
    assert set(on_feedback) == {"null", json.dumps([{"Key": REVIEW_TAG, "Value": PENDING}])}
    everything, pending = on_feedback["null"], on_feedback[json.dumps([{"Key": REVIEW_TAG, "Value": PENDING}])]
    assert everything["Status"] == pending["Status"] == "Enabled"
    assert everything["ExpirationInDays"] == {"Ref": "FeedbackRetentionDays"}
    assert pending["ExpirationInDays"] == {"Ref": "FeedbackUnreviewedDays"}


def test_post_feedback_has_a_throttle_of_its_own(deployed: dict) -> None:
    (stage,) = [r for r in deployed["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    route = stage["Properties"]["RouteSettings"]["POST /feedback"]
    assert route == {
        "ThrottlingRateLimit": {"Ref": "FeedbackThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "FeedbackThrottleBurst"},
    }
    assert deployed["Parameters"]["FeedbackThrottleRate"]["Default"] < deployed["Parameters"]["ThrottleRate"]["Default"]


def test_the_kept_bytes_alarm_watches_the_metric_the_function_emits(
    deployed: dict, classifier: Any, tmp_path: Path, cat_jpeg: bytes, telemetry_records
) -> None:
    gateway = Gateway(Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(tmp_path))))
    answer = gateway.handle({"image": b64(cat_jpeg)})
    telemetry_records()
    payload = {"answer": answer, "verdict": "right", "consent": True, "image": b64(cat_jpeg)}
    assert gateway.handle(v2_event(path="/feedback", body=json.dumps(payload)))["statusCode"] == 200
    alarm = deployed["Resources"]["FeedbackKeptBytesAlarm"]["Properties"]
    ((value, dimensions),) = metric_values(telemetry_records())[alarm["MetricName"]]
    assert alarm["Namespace"] == "Catbreed" and value > 0
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == dimensions
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 3600, {"Ref": "FeedbackAlarmBytes"})
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_every_checkov_skip_says_why(template: dict) -> None:
    skips = [
        (name, skip)
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) > 30, (name, skip)


def test_the_function_may_touch_only_feedback_and_uploads_and_list_nothing(deployed: dict) -> None:
    resources = deployed["Resources"]
    function = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function")
    assert function["Properties"]["Environment"]["Variables"]["CATBREED_FEEDBACK_BUCKET"] == {"Ref": "UploadBucket"}
    statements = [s for p in resources["ClassifierRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    on_bucket = [s for s in statements if "UploadBucket" in json.dumps(s.get("Resource", ""))]
    resources_of = {json.dumps(s["Resource"]): set(s["Action"]) for s in on_bucket}
    assert resources_of == {
        json.dumps({"Fn::Sub": "${UploadBucket.Arn}/uploads/*"}): {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
        json.dumps({"Fn::Sub": "${UploadBucket.Arn}/feedback/*"}): {
            "s3:PutObject",
            "s3:PutObjectTagging",
            "s3:GetObject",
            "s3:DeleteObject",
        },
    }
    assert "s3:ListBucket" not in json.dumps(statements)
    bucket = resources["UploadBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())  # no one lists it publicly
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]


def test_the_feedback_routes_reach_the_function(deployed: dict) -> None:
    paths = deployed["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    assert "post" in paths["/feedback"] and "delete" in paths["/feedback/{id}"]


def dashboard_widgets(template: dict, kind: str) -> list[dict]:
    """The dashboard's widgets of one type ("metric", or "log": Logs Insights tables)."""
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "x").replace("${ClassifierLogGroup}", "group"))["widgets"]
    return [widget for widget in widgets if widget["type"] == kind]


def dashboard_metrics(template: dict) -> set[tuple[str, frozenset, frozenset]]:
    """(metric, its dimension names, the dimension values it filters on) of every graph."""
    found = set()
    for widget in dashboard_widgets(template, "metric"):
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                namespace, dimensions, name, filters = SEARCH.search(line[0]["expression"]).groups()
                values = frozenset(tuple(f.split("=")) for f in filters.split())
                found.add((namespace, name, frozenset(dimensions.split(",")), frozenset((k, v.strip('"')) for k, v in values)))
            else:
                namespace, name, *pairs = [item for item in line if not isinstance(item, dict)]
                dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
                found.add((namespace, name, frozenset(dimensions), frozenset(dimensions.items())))
    return found


@pytest.fixture()
def emitted(classifier: Any, tmp_path: Path, cat_jpeg: bytes, telemetry_records) -> list[tuple[str, frozenset, dict]]:
    """(metric, dimension names, dimensions) of what the function emits for an answer, an
    error, and a right and a wrong verdict."""
    gateway = Gateway(Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(tmp_path))))
    telemetry_records()
    answer = gateway.handle({"image": b64(cat_jpeg)})
    gateway.handle({"url": "ftp://x.test/cat.jpg"})
    for verdict in ({"verdict": "right"}, {"verdict": "wrong", "label": "mix"}):
        response = gateway.handle(v2_event(path="/feedback", body=json.dumps({"answer": answer, "consent": False, **verdict})))
        assert response["statusCode"] == 200
    return [
        (name, frozenset(dimensions), dimensions)
        for name, values in metric_values(telemetry_records()).items()
        for _, dimensions in values
    ]


def test_the_dashboard_shows_metrics_the_function_emits(template: dict, emitted: list) -> None:
    from catbreed.telemetry import NAMESPACE

    shown = dashboard_metrics(template)
    emitted_names = {"ReportedRight", "Feedback", "NotSure", "NotACat", "Latency", "Errors", "InternalError"}
    assert {name for _, name, _, _ in shown} == emitted_names
    for namespace, name, dimension_names, filters in shown:
        assert namespace == NAMESPACE
        matches = [dims for got, names, dims in emitted if got == name and names == dimension_names]
        assert matches, f"the dashboard graphs {name} by {sorted(dimension_names)}, which the function never emits"
        assert any(set(filters) <= set(dims.items()) for dims in matches), f"{name}: no emitted record has {sorted(filters)}"
