"""Cost and abuse caps in what would deploy (the template after SAM's transform): the default
memory (the benchmark's choice), alarms on the upload bucket's size and object count, the
optional budget, the optional per-IP limit (WAF on CloudFront, us-east-1 only), the API's
access log with the caller's address, and the page's Content-Security-Policy, resolved as
CloudFormation would and checked against the upload URL the function really signs."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from bench.lambda_cost import MEMORY_SIZES_MB, P95_TARGET_MS, SizeResult, cheapest_size

from .stack import TEMPLATE, csp, resolve


def upload_bucket_name(deployed: dict, region: str) -> str:
    return resolve(deployed["Resources"]["UploadBucket"]["Properties"]["BucketName"], region, {})


def signed_upload_host(bucket: str, region: str) -> str:
    """The host of the presigned POST the function hands out (its own S3 client settings)."""
    import boto3
    from botocore.config import Config

    from catbreed.storage import client_config

    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name=region)
    client = session.client("s3", config=Config(**client_config(None)))
    post = client.generate_presigned_post(Bucket=bucket, Key="uploads/" + "0" * 32, ExpiresIn=60)
    return urlsplit(post["url"]).netloc


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
@pytest.mark.parametrize("per_ip", [False, True])
def test_the_page_may_connect_only_to_itself_the_api_and_its_upload_bucket(deployed: dict, region: str, per_ip: bool) -> None:
    policy = csp(deployed, region, per_ip)
    bucket = upload_bucket_name(deployed, region)
    assert re.fullmatch(r"catbreed-uploads-[0-9a-f-]{36}", bucket) and len(bucket) <= 63
    api = f"https://*.execute-api.{region}.amazonaws.com"
    expected = {"'self'", api, f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"}
    if per_ip:
        expected.add("https://*.cloudfront.net")
    assert set(policy["connect-src"]) == expected
    assert f"https://{signed_upload_host(bucket, region)}" in policy["connect-src"]  # what the page really POSTs to
    assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'none'"]
    behaviour = deployed["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteHeadersPolicy"}


def test_the_page_keeps_the_managed_security_headers(deployed: dict) -> None:
    config = deployed["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert config["FrameOptions"]["FrameOption"] == "DENY"
    assert config["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert config["ContentTypeOptions"] == {"Override": True}


def test_the_upload_bucket_alarms_on_its_daily_size_and_object_count(deployed: dict) -> None:
    resources = deployed["Resources"]
    expected = {
        "UploadBucketBytesAlarm": ("BucketSizeBytes", "StandardStorage", "UploadAlarmBytes"),
        "UploadBucketObjectsAlarm": ("NumberOfObjects", "AllStorageTypes", "UploadAlarmObjects"),
    }
    for name, (metric, storage, threshold) in expected.items():
        alarm = resources[name]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/S3", metric)
        assert alarm["Dimensions"] == [
            {"Name": "BucketName", "Value": {"Ref": "UploadBucket"}},
            {"Name": "StorageType", "Value": storage},
        ]
        assert alarm["Period"] == 86400  # S3 storage metrics come once a day
        assert alarm["Threshold"] == {"Ref": threshold} and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert deployed["Parameters"]["UploadAlarmBytes"]["Default"] == 1073741824


def test_the_budget_is_there_only_with_an_amount_and_mails_its_address(deployed: dict) -> None:
    budget = deployed["Resources"]["CostBudget"]
    assert budget["Condition"] == "HasBudget"
    assert deployed["Conditions"]["HasBudget"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "BudgetMonthlyUsd"}, ""]}]}
    assert deployed["Parameters"]["BudgetMonthlyUsd"]["Default"] == ""  # off unless asked for
    pattern = re.compile(deployed["Parameters"]["BudgetMonthlyUsd"]["AllowedPattern"])
    assert all(pattern.fullmatch(v) for v in ("", "20", "12.50")) and not any(pattern.fullmatch(v) for v in ("-5", "1e3", "ten"))
    properties = budget["Properties"]
    assert properties["Budget"]["BudgetLimit"] == {"Amount": {"Ref": "BudgetMonthlyUsd"}, "Unit": "USD"}
    assert properties["Budget"]["TimeUnit"] == "MONTHLY" and properties["Budget"]["BudgetType"] == "COST"
    notices = {(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in properties[
        "NotificationsWithSubscribers"
    ]}
    assert notices == {("ACTUAL", 80), ("FORECASTED", 100)}
    for notice in properties["NotificationsWithSubscribers"]:
        assert notice["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": {"Ref": "BudgetEmail"}}]
    rule = deployed["Rules"]["BudgetNeedsAnEmail"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "BudgetEmail"}, ""]}]}


def test_the_per_ip_limit_is_waf_on_cloudfront_in_front_of_the_api_when_asked_for(deployed: dict) -> None:
    resources = deployed["Resources"]
    assert deployed["Parameters"]["RateLimitPerIp"]["Default"] == 0  # off unless asked for
    assert deployed["Conditions"]["PerIpLimit"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RateLimitPerIp"}, 0]}]}
    acl, distribution = resources["ApiRateLimit"], resources["ApiDistribution"]
    assert acl["Condition"] == distribution["Condition"] == "PerIpLimit"
    assert acl["Properties"]["Scope"] == "CLOUDFRONT" and acl["Properties"]["DefaultAction"] == {"Allow": {}}
    rule, common, bad_inputs = sorted(acl["Properties"]["Rules"], key=lambda r: r["Priority"])
    managed = [r["Statement"]["ManagedRuleGroupStatement"] for r in (common, bad_inputs)]
    assert [(m["VendorName"], m["Name"]) for m in managed] == [
        ("AWS", "AWSManagedRulesCommonRuleSet"),
        ("AWS", "AWSManagedRulesKnownBadInputsRuleSet"),
    ]
    # the common set's 8 KB body limit would refuse every photo sent in the request: it only counts
    assert managed[0]["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate == {"Limit": {"Ref": "RateLimitPerIp"}, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    body = json.loads(acl["Properties"]["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"])
    assert set(body["error"]) == {"code", "message"}  # the API's error shape
    config = distribution["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == {"Fn::GetAtt": ["ApiRateLimit", "Arn"]}
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled: no shared answers
    assert {"POST", "GET", "OPTIONS"} <= set(behaviour["AllowedMethods"])
    # WAF for CloudFront exists only in us-east-1: the stack refuses other regions with the limit on
    assertions = deployed["Rules"]["PerIpLimitNeedsUsEast1"]["Assertions"]
    assert {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]} in [a["Assert"] for a in assertions]
    url = deployed["Outputs"]["ApiUrl"]["Value"]["Fn::If"]
    assert url[0] == "PerIpLimit" and url[1] == {"Fn::Sub": "https://${ApiDistribution.DomainName}"}


def test_the_api_logs_every_request_with_the_callers_address(deployed: dict) -> None:
    resources = deployed["Resources"]
    (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    settings = stage["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    record = json.loads(settings["Format"])  # one JSON object per request
    assert record["sourceIp"] == "$context.identity.sourceIp"
    assert {"requestId", "requestTime", "routeKey", "status", "userAgent"} <= set(record)
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_access_logs_of_buckets_and_distributions_are_an_option_off_by_default(deployed: dict) -> None:
    resources = deployed["Resources"]
    assert deployed["Parameters"]["AccessLogs"]["Default"] == "false"
    assert resources["AccessLogBucket"]["Condition"] == resources["AccessLogBucketPolicy"]["Condition"] == "KeepAccessLogs"
    for bucket in ("UploadBucket", "SiteBucket"):
        when, logging, otherwise = resources[bucket]["Properties"]["LoggingConfiguration"]["Fn::If"]
        assert (when, logging["DestinationBucketName"]) == ("KeepAccessLogs", {"Ref": "AccessLogBucket"})
        assert otherwise == {"Ref": "AWS::NoValue"}
    for distribution in ("SiteDistribution", "ApiDistribution"):
        when, logging, _ = resources[distribution]["Properties"]["DistributionConfig"]["Logging"]["Fn::If"]
        assert (when, logging["Bucket"]) == ("KeepAccessLogs", {"Fn::GetAtt": ["AccessLogBucket", "RegionalDomainName"]})
    assert all(resources["AccessLogBucket"]["Properties"]["PublicAccessBlockConfiguration"].values())


@pytest.mark.parametrize(
    ("parameter", "refused", "taken"),
    [
        ("BulkInputPrefix", ["", "uploads/", "uploads/x/", "feedback/", "feedback/a/"], ["photos/", "2026/cats/", "my-uploads/"]),
        ("BulkResultPrefix", ["", "uploads/", "feedback/", "feedback/results/"], ["results/", "bulk/2026/"]),
    ],
)
def test_bulk_prefixes_may_not_be_the_whole_bucket_or_owners_photos(
    deployed: dict, parameter: str, refused: list[str], taken: list[str]
) -> None:
    pattern = re.compile(deployed["Parameters"][parameter]["AllowedPattern"])
    assert [p for p in refused if pattern.fullmatch(p)] == []
    assert [p for p in taken if not pattern.fullmatch(p)] == []


def test_the_default_memory_is_the_benchmarks_choice_from_its_committed_figures(template: dict) -> None:
    """docs/lambda-cost.json is what `make bench` wrote; the default must follow it."""
    measured = json.loads((TEMPLATE.parent / "docs" / "lambda-cost.json").read_text())
    shipped = measured["models"]["shipped"]
    assert sorted(int(mb) for mb in shipped) == sorted(MEMORY_SIZES_MB)
    assert measured["p95_target_ms"] == P95_TARGET_MS
    choice = cheapest_size(
        [SizeResult(int(mb), f["p95_ms"], f["usd_per_million"]["x86_64"]) for mb, f in shipped.items()], P95_TARGET_MS
    )
    assert choice == measured["recommended_memory_mb"]
    assert template["Parameters"]["MemorySize"]["Default"] == choice
