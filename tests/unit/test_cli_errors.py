"""What the scripts say about AWS's refusals and a missing module: one line with what to do."""

from __future__ import annotations

import sys

from botocore.exceptions import ClientError, EndpointConnectionError

from catbreed_local.cli_errors import aws_problem, missing_module


def refusal(code: str, message: str, operation: str = "DescribeStacks") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_a_stack_that_does_not_exist_points_at_the_stack_and_region() -> None:
    line = aws_problem(refusal("ValidationError", "Stack with id catbread does not exist"))
    assert line == "AWS: Stack with id catbread does not exist; check --stack and --region"


def test_expired_credentials_say_to_refresh_them() -> None:
    line = aws_problem(refusal("ExpiredToken", "The security token included in the request is expired"))
    assert line is not None and line.startswith("AWS refused the credentials (ExpiredToken): refresh them")


def test_other_refusals_and_network_failures_name_what_failed() -> None:
    assert aws_problem(refusal("AccessDenied", "not allowed", "StartExecution")) == (
        "AWS refused StartExecution: AccessDenied: not allowed"
    )
    assert aws_problem(EndpointConnectionError(endpoint_url="https://states.eu-west-1.amazonaws.com")).startswith("AWS: ")
    assert aws_problem(ValueError("not AWS's")) is None


def test_a_missing_module_names_the_package_and_the_projects_python() -> None:
    line = missing_module(ModuleNotFoundError("No module named 'ai_edge_litert.interpreter'", name="ai_edge_litert.interpreter"),
                          "bulk.py photos --out results.csv")
    assert line.startswith("ai_edge_litert is not installed")
    assert "make run" in line and "\n" not in line
    if ".venv" not in sys.prefix:
        assert line.endswith(".venv/bin/python bulk.py photos --out results.csv")
