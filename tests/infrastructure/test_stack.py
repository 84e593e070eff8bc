"""The SAM template: CORS only for the page's origin, throttling from parameters, a
private bucket read only by CloudFront, a least-privilege role, and the outputs; and what
would deploy: the template after SAM's transform (aws-sam-translator, as CloudFormation
runs it): the API's routes are the contract's, X-Ray tracing, alarms to a topic."""

from __future__ import annotations


def test_cors_allows_only_the_pages_origin(template: dict) -> None:
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Fn::Sub": "https://${SiteDistribution.DomainName}"}]
    assert "*" not in str(cors["AllowOrigins"])
    assert set(cors["AllowMethods"]) == {"GET", "POST", "DELETE", "OPTIONS"}  # DELETE: /feedback/{id}
    assert cors["AllowHeaders"] == ["content-type", "authorization"]  # authorization: the deletion token
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
    assert routes == {("POST", "/predict"), ("GET", "/breeds"), ("POST", "/uploads")} | {
        ("POST", "/feedback"),
        ("DELETE", "/feedback/{id}"),
    }


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
    policy = next(p for p in role["Policies"] if p["PolicyName"] == "write-own-logs")  # S3: test_uploads_and_bulk.py
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"] == {"Fn::Sub": "${ClassifierLogGroup.Arn}:*"}


def test_outputs_name_the_api_page_and_bucket(template: dict) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "PageUrl", "SiteBucketName"} <= set(outputs)
    condition, through_waf, direct = outputs["ApiUrl"]["Value"]["Fn::If"]  # RateLimitPerIp: test_cost_and_abuse_caps.py
    assert condition == "PerIpLimit" and "execute-api" in direct["Fn::Sub"] and "ApiDistribution" in through_waf["Fn::Sub"]
    assert outputs["PageUrl"]["Value"] == {"Fn::Sub": "https://${SiteDistribution.DomainName}"}


def test_the_deployed_api_routes_exactly_the_contracts_operations_to_the_function(deployed: dict) -> None:
    from ..helpers import contract_document

    body = deployed["Resources"]["HttpApi"]["Properties"]["Body"]
    routed = {(path, method) for path, operations in body["paths"].items() for method in operations}
    documented = {(path, method) for path, operations in contract_document()["paths"].items() for method in operations}
    assert routed == documented
    for operations in body["paths"].values():
        for operation in operations.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy" and integration["payloadFormatVersion"] == "2.0"
            assert "/functions/${ClassifierFunctionAliaslive}/" in integration["uri"]["Fn::Sub"]  # test_rollout.py


def test_the_deployed_api_answers_cors_for_the_page_only(deployed: dict) -> None:
    cors = deployed["Resources"]["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]
    assert cors == {
        "allowOrigins": [{"Fn::Sub": "https://${SiteDistribution.DomainName}"}],
        "allowHeaders": ["content-type", "authorization"],
        "allowMethods": ["GET", "POST", "DELETE", "OPTIONS"],
        "maxAge": 600,
    }


def test_the_function_is_traced_with_x_ray(deployed: dict) -> None:
    resources = deployed["Resources"]
    assert resources["ClassifierFunction"]["Properties"]["TracingConfig"] == {"Mode": "Active"}
    policy = next(p for p in resources["ClassifierRole"]["Properties"]["Policies"] if p["PolicyName"] == "write-traces")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_alarms_watch_5xx_rate_throttles_and_p95_duration(deployed: dict) -> None:
    resources = deployed["Resources"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    # the upload bucket's alarms: test_cost_and_abuse_caps.py; kept feedback's: test_feedback_stack.py
    uploads = {"UploadBucketBytesAlarm", "UploadBucketObjectsAlarm", "FeedbackKeptBytesAlarm"}
    deployments = {"CanaryErrorsAlarm", "CanaryLatencyAlarm", "CanaryNotACatAlarm", "CanaryNotSureAlarm"}  # a rollout's
    assert set(alarms) == {"Api5xxRateAlarm", "ThrottlesAlarm", "DurationP95Alarm", *uploads, *deployments}
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] for alarm in alarms.values())
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in alarms["Api5xxRateAlarm"]["Metrics"] if "MetricStat" in m}
    assert {name: m["MetricName"] for name, m in stats.items()} == {"errors": "5xx", "requests": "Count"}
    assert all(m["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}] for m in stats.values())
    function = [{"Name": "FunctionName", "Value": {"Ref": "ClassifierFunction"}}]
    assert (alarms["ThrottlesAlarm"]["MetricName"], alarms["ThrottlesAlarm"]["Dimensions"]) == ("Throttles", function)
    p95 = alarms["DurationP95Alarm"]
    assert (p95["MetricName"], p95["ExtendedStatistic"], p95["Dimensions"]) == ("Duration", "p95", function)
    assert p95["Threshold"] == {"Ref": "P95DurationMs"}


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(deployed: dict) -> None:
    resources = deployed["Resources"]
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (cloudwatch,) = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_alarm_mail_goes_to_the_optional_address(deployed: dict) -> None:
    subscription = deployed["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    mail = {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    assert subscription["Properties"] == mail
    assert deployed["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert deployed["Parameters"]["AlarmEmail"]["Default"] == ""
