"""Gradual rollout in the SAM template, after SAM's transform as CloudFormation runs it: the
function publishes versions behind the alias `live`, which the API's routes, their permissions
and bulk call; CodeDeploy shifts traffic to a new version (a canary by default, AllAtOnce as a
parameter) and rolls it back on four alarms that watch that version. The alarms' metric math
is evaluated here on made-up counts; the dashboard's tables read fields the function logs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import FolderStore
from catbreed.gateway import Gateway
from catbreed.service import Service

from ..helpers import LOOPBACK_ONLY, b64, v2_event
from .stack import translate
from .test_feedback_stack import dashboard_widgets

ALIAS = "ClassifierFunctionAliaslive"
ROLLBACK_ALARMS = ["CanaryErrorsAlarm", "CanaryLatencyAlarm", "CanaryNotACatAlarm", "CanaryNotSureAlarm"]


def of_type(stack: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in stack["Resources"].items() if r["Type"] == kind}


def new_version(stack: dict) -> dict:
    """The version this deployment publishes, as a template refers to its number."""
    (version,) = of_type(stack, "AWS::Lambda::Version")
    return {"Fn::GetAtt": [version, "Version"]}


def test_each_deployment_publishes_a_version_behind_the_alias_live(deployed: dict) -> None:
    (version,) = of_type(deployed, "AWS::Lambda::Version").values()
    assert version["Properties"]["FunctionName"] == {"Ref": "ClassifierFunction"}
    alias = deployed["Resources"][ALIAS]
    expected = {"Name": "live", "FunctionName": {"Ref": "ClassifierFunction"}, "FunctionVersion": new_version(deployed)}
    assert alias["Properties"] == expected
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]  # CodeDeploy, not CloudFormation, moves the alias
    assert update["DeploymentGroupName"] == {"Ref": "ClassifierFunctionDeploymentGroup"}


def test_the_page_the_api_and_bulk_call_the_alias(deployed: dict) -> None:
    """So they keep working during a shift: every request goes to the version the alias gives it."""
    paths = deployed["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    uris = [op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"] for ops in paths.values() for op in ops.values()]
    assert len(uris) == 5 and all(f"/functions/${{{ALIAS}}}/invocations" in uri for uri in uris)
    permissions = of_type(deployed, "AWS::Lambda::Permission").values()
    assert {json.dumps(p["Properties"]["FunctionName"]) for p in permissions} == {json.dumps({"Ref": ALIAS})}
    substitutions = deployed["Resources"]["BulkStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["FunctionArn"] == {"Ref": ALIAS}


def test_a_canary_by_default_and_all_at_once_as_a_parameter(deployed: dict) -> None:
    def config(stack: dict) -> str:
        group = stack["Resources"]["ClassifierFunctionDeploymentGroup"]["Properties"]
        pattern, names = group["DeploymentConfigName"]["Fn::Sub"]
        return pattern.replace("${ConfigName}", names["ConfigName"])

    assert config(deployed) == "CodeDeployDefault.LambdaCanary10Percent10Minutes"
    assert config(translate(DeploymentType="AllAtOnce")) == "CodeDeployDefault.LambdaAllAtOnce"
    assert "AllAtOnce" in deployed["Parameters"]["DeploymentType"]["AllowedValues"]


def test_an_alarm_rolls_the_deployment_back(deployed: dict) -> None:
    group = deployed["Resources"]["ClassifierFunctionDeploymentGroup"]["Properties"]
    assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": {"Ref": name}} for name in ROLLBACK_ALARMS]}
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    for name in ROLLBACK_ALARMS:
        assert deployed["Resources"][name]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]  # and someone hears


def dimensions_of(alarm: dict) -> list[dict]:
    """Every metric's dimensions in an alarm, by name."""
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m] or [alarm]
    return [{d["Name"]: d["Value"] for d in metric["Dimensions"]} for metric in stats]


def test_the_alarms_watch_the_version_being_deployed(deployed: dict) -> None:
    version = new_version(deployed)
    lambda_metric = {"FunctionName": {"Ref": "ClassifierFunction"}, "Resource": {"Fn::Sub": "${ClassifierFunction}:live"}}
    for name in ROLLBACK_ALARMS:
        for dimensions in dimensions_of(deployed["Resources"][name]["Properties"]):
            if "ExecutedVersion" in dimensions:  # Lambda's own metrics of an alias
                assert dimensions == lambda_metric | {"ExecutedVersion": version}
            elif "function_version" in dimensions:  # the function's, catbreed/telemetry.py
                assert dimensions == {"service": "catbreed", "function_version": version}
            else:  # every version's, to compare with
                assert dimensions == {"service": "catbreed"} and name in ("CanaryNotACatAlarm", "CanaryNotSureAlarm")
    latency = deployed["Resources"]["CanaryLatencyAlarm"]["Properties"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("Duration", "p95")
    assert latency["Threshold"] == {"Ref": "P95DurationMs"}


def evaluate(alarm: dict, values: dict[str, float]) -> float:
    """The alarm's returned metric math for one period, given each metric's value."""
    expressions = {m["Id"]: m["Expression"] for m in alarm["Metrics"] if "Expression" in m}
    known = {k: np.float64(v) for k, v in values.items()}

    def python(expression: str) -> str:
        return re.sub(r"\bAND\b", "and", expression).replace("IF(", "if_(").replace("SQRT(", "sqrt(").replace("FILL(", "fill(")

    functions = {"if_": lambda c, a, b: a if c else b, "sqrt": np.sqrt, "fill": lambda m, v: v if math.isnan(m) else m}
    with np.errstate(divide="ignore", invalid="ignore"):
        while set(expressions) - set(known):
            for name, expression in expressions.items():
                needed = set(re.findall(r"\b[a-z][A-Za-z]*\b", python(expression))) - set(functions) - {"and"}
                if name not in known and needed <= set(known):
                    known[name] = eval(python(expression), functions, dict(known))  # our own template's expressions
    (returned,) = [m["Id"] for m in alarm["Metrics"] if m.get("ReturnData", True)]
    return float(known[returned])


def fires(alarm: dict, values: dict[str, float], threshold: float) -> bool:
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    return evaluate(alarm, values) > threshold


def shares(new: tuple[int, int], others: tuple[int, int]) -> dict[str, float]:
    """(answers "not sure", answers) of the new version and of the others, as the alarm's metrics."""
    return {"newHits": new[0], "newAnswers": new[1], "allHits": new[0] + others[0], "allAnswers": new[1] + others[1]}


@pytest.mark.parametrize("name", ["CanaryNotACatAlarm", "CanaryNotSureAlarm"])
def test_a_jump_in_not_sure_or_not_a_cat_against_the_other_versions_rolls_back(deployed: dict, name: str) -> None:
    alarm = deployed["Resources"][name]["Properties"]
    assert alarm["Threshold"] == {"Ref": "AnswerShareJumpPoints"}
    jump = float(deployed["Parameters"]["AnswerShareJumpPoints"]["Default"])
    assert jump == 10
    assert evaluate(alarm, shares((60, 100), (360, 900))) == pytest.approx(20.0)  # 60% against 40%
    assert fires(alarm, shares((60, 100), (360, 900)), jump)
    assert not fires(alarm, shares((45, 100), (360, 900)), jump)  # 45% against 40%: within the noise, and small
    assert not fires(alarm, shares((4300, 10000), (40000, 100000)), jump)  # 3 points, real (z = 5.8) but small
    assert not fires(alarm, shares((20, 29), (360, 900)), jump)  # 69% of 29 answers: too few to tell
    assert not fires(alarm, shares((90, 100), (5, 25)), jump)  # the others' 25 answers: too few to compare with
    assert not fires(alarm, shares((26, 40), (20, 40)), jump)  # 65% against 50% of 40 answers each: z = 1.4, noise
    assert fires(alarm, shares((300, 400), (180, 400)), jump)  # 75% against 45% of 400 each
    assert not fires(alarm, shares((5, 100), (90, 900)), jump)  # fewer "not sure" answers: better, never a rollback
    assert not fires(alarm, {"newHits": 500, "newAnswers": 1000, "allHits": 500, "allAnswers": 1000}, jump)  # all on it


def test_failures_of_the_new_version_roll_back(deployed: dict) -> None:
    alarm = deployed["Resources"]["CanaryErrorsAlarm"]["Properties"]
    threshold = alarm["Threshold"]
    assert fires(alarm, {"invocations": 40, "crashes": 2, "internal": 1}, threshold)  # 7.5%
    assert fires(alarm, {"invocations": 40, "crashes": float("nan"), "internal": 3}, threshold)  # no crash reported at all
    assert not fires(alarm, {"invocations": 40, "crashes": 1, "internal": 0}, threshold)  # 2.5%
    assert not fires(alarm, {"invocations": 5, "crashes": 3, "internal": 0}, threshold)  # too few requests to tell


@pytest.fixture()
def logged(classifier: Any, tmp_path: Path, cat_jpeg: bytes, telemetry_records) -> list[dict]:
    """The request records the function writes for an answer and a verdict on it."""
    gateway = Gateway(Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(tmp_path))))
    telemetry_records()
    answer = gateway.handle({"image": b64(cat_jpeg)})
    gateway.handle(v2_event(path="/feedback", body=json.dumps({"answer": answer, "verdict": "right", "consent": False})))
    return [r for r in telemetry_records() if r.get("message") == "request"]


def test_the_dashboard_tables_answers_and_verdicts_by_model_version_from_the_logs(template: dict, logged: list) -> None:
    tables = dashboard_widgets(template, "log")
    titles = ["Answers by model version", "Owners' verdicts by model version (share right)"]
    assert [t["properties"]["title"] for t in tables] == titles
    for table in tables:
        query = table["properties"]["query"]
        assert query.startswith("SOURCE 'group' |")  # the function's log group
        fields = set(re.findall(r"\b(answer|verdict)\.(\w+)", query))
        assert any(field == "model_version" for _, field in fields) and query.rstrip().endswith(".model_version")
        for record, field in fields:
            assert any(field in r.get(record, {}) for r in logged), f"the dashboard reads {record}.{field}, never logged"
