"""The SAM template: CORS only for the page's origin, throttling from parameters, a
private bucket read only by CloudFront, a least-privilege role, and the outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short intrinsic tags (!Ref, !Sub, !GetAtt, ...)."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def test_cors_allows_only_the_pages_origin(template: dict) -> None:
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Fn::Sub": "https://${SiteDistribution.DomainName}"}]
    assert "*" not in str(cors["AllowOrigins"])
    assert set(cors["AllowMethods"]) == {"GET", "POST", "OPTIONS"}
    assert cors["AllowHeaders"] == ["content-type"]
    function_env = template["Resources"]["ClassifierFunction"]["Properties"]["Environment"]["Variables"]
    assert not any("ORIGIN" in name for name in function_env)  # CORS has one owner: API Gateway


def test_throttling_and_cost_caps_are_parameters(template: dict) -> None:
    route = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert route == {"ThrottlingRateLimit": {"Ref": "ThrottleRate"}, "ThrottlingBurstLimit": {"Ref": "ThrottleBurst"}}
    function = template["Resources"]["ClassifierFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    assert function["MemorySize"] == {"Ref": "MemorySize"}
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    assert template["Globals"]["Function"]["Timeout"] < 30  # API Gateway's integration limit


def test_the_function_is_the_image_with_two_routes(template: dict) -> None:
    function = template["Resources"]["ClassifierFunction"]
    assert function["Properties"]["PackageType"] == "Image"
    assert function["Metadata"]["Dockerfile"] == "Dockerfile"
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in function["Properties"]["Events"].values()}
    assert routes == {("POST", "/predict"), ("GET", "/breeds"), ("POST", "/uploads")}


def test_the_bucket_is_private_and_read_only_by_cloudfront(template: dict) -> None:
    resources = template["Resources"]
    block = resources["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    statements = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1 and allows[0]["Action"] == "s3:GetObject"
    assert allows[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "AWS:SourceArn" in allows[0]["Condition"]["StringEquals"]
    origin = resources["SiteDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}


def test_the_role_only_writes_its_own_logs(template: dict) -> None:
    role = template["Resources"]["ClassifierRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    policy = next(p for p in role["Policies"] if p["PolicyName"] == "write-own-logs")  # S3: test_bulk_template.py
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"] == {"Fn::Sub": "${ClassifierLogGroup.Arn}:*"}


def test_outputs_name_the_api_page_and_bucket(template: dict) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "PageUrl", "SiteBucketName"} <= set(outputs)
    assert "execute-api" in outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert outputs["PageUrl"]["Value"] == {"Fn::Sub": "https://${SiteDistribution.DomainName}"}
