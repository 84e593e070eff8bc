"""The stack after the SAM transform (aws-sam-translator, offline): the upload bucket, the
function's S3 rights, and the bulk state machine: reader, batcher, writer, concurrency cap,
tolerated failures, and a role limited to the input prefix and the result prefix."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest


@pytest.fixture(scope="module")
def definition(deployed: dict) -> dict:
    """The state machine's ASL with each ${Placeholder} replaced by a marker of its CloudFormation value."""
    properties = deployed["Resources"]["BulkStateMachine"]["Properties"]
    separator, lines = properties["DefinitionString"]["Fn::Join"]
    text = separator.join(lines)
    substitutions = properties["DefinitionSubstitutions"]
    text = re.sub(r"\$\{(\w+)\}", lambda m: f"<{json.dumps(substitutions[m.group(1)], sort_keys=True)}>".replace('"', "'"), text)
    return json.loads(text)


def marker(value: Any) -> str:
    return f"<{json.dumps(value, sort_keys=True)}>".replace('"', "'")


def statements(role: dict) -> list[dict]:
    found = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if isinstance(statement, dict) and "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found.append(statement)
    return found


def test_the_map_reads_a_prefix_batches_writes_and_is_capped(deployed: dict, definition: dict) -> None:
    machine = deployed["Resources"]["BulkStateMachine"]
    assert machine["Condition"] == "Bulk" and deployed["Conditions"]["Bulk"] == {"Fn::Equals": [{"Ref": "BulkEnabled"}, "true"]}
    assert deployed["Parameters"]["BulkEnabled"]["Default"] == "false"
    step = definition["States"][definition["StartAt"]]
    assert step["Type"] == "Map" and step["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert step["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": marker({"Ref": "BulkInputBucket"}), "Prefix.$": "$.prefix"},
    }
    batcher = step["ItemBatcher"]
    assert 1 < batcher["MaxItemsPerBatch"] <= 50  # a batch must finish well within the function's timeout
    assert batcher["BatchInput"] == {"bucket": marker({"Ref": "BulkInputBucket"})}  # top_k: the API's default
    assert step["ResultWriter"] == {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": marker({"Ref": "UploadBucket"}), "Prefix": marker({"Ref": "BulkResultPrefix"})},
    }
    assert 0 < step["ToleratedFailurePercentage"] < 100
    task = step["ItemProcessor"]["States"][step["ItemProcessor"]["StartAt"]]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {"FunctionName": marker({"Ref": "ClassifierFunctionAliaslive"}), "Payload.$": "$"}  # in service
    assert task["OutputPath"] == "$.Payload"
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in task["Retry"])


def test_the_definition_passes_cfn_lints_state_machine_schema(deployed: dict) -> None:
    """sam validate --lint does not look inside a SAM state machine's inline Definition, so the
    resolved ASL goes through cfn-lint's Step Functions schema (E3601) as a plain resource."""
    pytest.importorskip("cfnlint", reason="cfn-lint comes with the dev setup (scripts/setup.sh dev); make test runs it")
    from cfnlint.api import ManualArgs, lint

    properties = deployed["Resources"]["BulkStateMachine"]["Properties"]
    separator, lines = properties["DefinitionString"]["Fn::Join"]
    values = {"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:catbreed-classifier",
              "InputBucket": "shelter-archive", "ResultBucket": "catbreed-uploads", "ResultPrefix": "results/"}
    asl = json.loads(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], separator.join(lines)))
    role = "arn:aws:iam::123456789012:role/bulk"
    machine = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": role, "Definition": asl}}
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Bulk": machine}}
    assert lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"])) == []
    asl["States"]["ClassifyPhotos"]["MaxConcurrency"] = "five"  # the check does bite
    assert [m.rule.id for m in lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))] == ["E3601"]


def test_the_map_leaves_the_api_copies_of_the_function(deployed: dict, definition: dict) -> None:
    cap = definition["States"][definition["StartAt"]]["MaxConcurrency"]
    reserved = deployed["Parameters"]["ReservedConcurrency"]
    assert 0 < cap <= int(reserved["Default"]) - 2
    rule = deployed["Rules"]["BulkLeavesCopiesForTheApi"]
    (assertion,) = rule["Assertions"]
    refused = assertion["Assert"]["Fn::Not"][0]["Fn::Contains"]
    assert refused[1] == {"Ref": "ReservedConcurrency"}
    assert {str(n) for n in range(1, cap + 2)} <= set(refused[0])  # reserved must exceed the cap by 2 or more


def test_the_bulk_role_reaches_only_its_prefixes_the_function_and_its_own_runs(deployed: dict) -> None:
    role = deployed["Resources"]["BulkRole"]
    assert role["Condition"] == "Bulk" and "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}
    by_sid = {s["Sid"]: s for s in statements(role)}
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s["Action"]) for s in by_sid.values())
    invoke = by_sid["InvokeTheClassifier"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"][0] == {"Fn::GetAtt": ["ClassifierFunction", "Arn"]}
    listing = by_sid["ListTheInputPrefix"]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BulkInputBucket}"}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${BulkInputPrefix}*"}}}
    writing = by_sid["WriteTheResults"]
    assert writing["Resource"] == {"Fn::Sub": "${UploadBucket.Arn}/${BulkResultPrefix}*"}
    assert "s3:DeleteObject" not in writing["Action"]
    assert by_sid["RunTheMapsChildWorkflows"]["Resource"]["Fn::Sub"].endswith(":stateMachine:${AWS::StackName}-bulk")
    assert by_sid["WatchTheMapsChildWorkflows"]["Resource"]["Fn::Sub"].endswith(":execution:${AWS::StackName}-bulk/*")
    machine = deployed["Resources"]["BulkStateMachine"]["Properties"]
    assert machine["RoleArn"] == {"Fn::GetAtt": ["BulkRole", "Arn"]}


def test_the_function_touches_only_uploads_feedback_and_the_bulk_input_prefix(deployed: dict) -> None:
    s3 = [s for s in statements(deployed["Resources"]["ClassifierRole"]) if "s3:" in json.dumps(s["Action"])]
    uploads, feedback, bulk = s3
    for own, prefix, tagging in ((uploads, "uploads", set()), (feedback, "feedback", {"s3:PutObjectTagging"})):
        assert set(own["Action"]) == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject", *tagging}  # kept feedback is tagged
        assert own["Resource"] == {"Fn::Sub": f"${{UploadBucket.Arn}}/{prefix}/*"}
    assert bulk["Action"] == "s3:GetObject"
    assert bulk["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BulkInputBucket}/${BulkInputPrefix}*"}
    conditional = deployed["Resources"]["ClassifierRole"]["Properties"]["Policies"][-1]["PolicyDocument"]["Statement"][-1]
    assert conditional["Fn::If"][0] == "Bulk" and conditional["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    environment = deployed["Resources"]["ClassifierFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["CATBREED_UPLOAD_BUCKET"] == {"Ref": "UploadBucket"}


def test_the_upload_bucket_is_private_encrypted_short_lived_and_posts_from_the_page_only(deployed: dict) -> None:
    bucket = deployed["Resources"]["UploadBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    uploads = next(r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Prefix"] == "uploads/")
    assert uploads["Status"] == "Enabled" and uploads["ExpirationInDays"] == 1
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == [{"Fn::Sub": "https://${SiteDistribution.DomainName}"}]
    assert cors["AllowedMethods"] == ["POST"]
    (deny,) = deployed["Resources"]["UploadBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_api_routes_uploads_to_the_function(deployed: dict) -> None:
    routes = {k for k, v in deployed["Resources"].items() if v["Type"] == "AWS::Lambda::Permission"}
    assert "ClassifierFunctionUploadsPermission" in routes
    assert "/uploads" in json.dumps(deployed["Resources"]["HttpApi"]["Properties"]["Body"]["paths"])
