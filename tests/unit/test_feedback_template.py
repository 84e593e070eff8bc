"""Feedback in the SAM template, after SAM's transform as CloudFormation runs it: kept photos
expire by a parameter (default a year), the function may write, read and delete only
feedback/* (besides uploads/*) and list nothing, the bucket stays private; and the dashboard
shows exactly metrics the function emits, with the dimensions it emits them under."""

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

from ..helpers import LOOPBACK_ONLY, b64, v2_event
from .test_telemetry import metric_values
from .test_template import deployed, template  # noqa: F401 - the fixtures

SEARCH = re.compile(r"SEARCH\('\{(\w+),([\w,]+)\} MetricName=\"(\w+)\"((?: \w+=\"\w+\")*)'")


def test_kept_feedback_expires_after_a_parameter_of_days(deployed: dict) -> None:  # noqa: F811
    assert deployed["Parameters"]["FeedbackRetentionDays"]["Default"] == 365
    rules = deployed["Resources"]["UploadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r.get("Prefix") == "feedback/"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "FeedbackRetentionDays"}


def test_the_function_may_touch_only_feedback_and_uploads_and_list_nothing(deployed: dict) -> None:  # noqa: F811
    resources = deployed["Resources"]
    function = next(r for r in resources.values() if r["Type"] == "AWS::Lambda::Function")
    assert function["Properties"]["Environment"]["Variables"]["CATBREED_FEEDBACK_BUCKET"] == {"Ref": "UploadBucket"}
    statements = [s for p in resources["ClassifierRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    on_bucket = [s for s in statements if "UploadBucket" in json.dumps(s.get("Resource", ""))]
    resources_of = {json.dumps(s["Resource"]): set(s["Action"]) for s in on_bucket}
    assert resources_of == {
        json.dumps({"Fn::Sub": "${UploadBucket.Arn}/uploads/*"}): {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
        json.dumps({"Fn::Sub": "${UploadBucket.Arn}/feedback/*"}): {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
    }
    assert "s3:ListBucket" not in json.dumps(statements)
    bucket = resources["UploadBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())  # no one lists it publicly
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]


def test_the_feedback_routes_reach_the_function(deployed: dict) -> None:  # noqa: F811
    paths = deployed["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    assert "post" in paths["/feedback"] and "delete" in paths["/feedback/{id}"]


def dashboard_widgets(template: dict, kind: str) -> list[dict]:  # noqa: F811
    """The dashboard's widgets of one type ("metric", or "log": Logs Insights tables)."""
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "x").replace("${ClassifierLogGroup}", "group"))["widgets"]
    return [widget for widget in widgets if widget["type"] == kind]


def dashboard_metrics(template: dict) -> set[tuple[str, frozenset, frozenset]]:  # noqa: F811
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


def test_the_dashboard_shows_metrics_the_function_emits(template: dict, emitted: list) -> None:  # noqa: F811
    from catbreed.telemetry import NAMESPACE

    shown = dashboard_metrics(template)
    emitted_names = {"ReportedRight", "Feedback", "NotSure", "NotACat", "Latency", "Errors", "InternalError"}
    assert {name for _, name, _, _ in shown} == emitted_names
    for namespace, name, dimension_names, filters in shown:
        assert namespace == NAMESPACE
        matches = [dims for got, names, dims in emitted if got == name and names == dimension_names]
        assert matches, f"the dashboard graphs {name} by {sorted(dimension_names)}, which the function never emits"
        assert any(set(filters) <= set(dims.items()) for dims in matches), f"{name}: no emitted record has {sorted(filters)}"
