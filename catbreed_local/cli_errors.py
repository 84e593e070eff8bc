"""What the command-line tools (bulk.py, test_cloud.py) say when their environment falls
short: one line that names the problem and what to do, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".venv"
CREDENTIAL_CODES = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}


def missing_module(error: ModuleNotFoundError, command: str) -> str:
    """`command` (e.g. "bulk.py FOLDER") needs a module this Python lacks."""
    module = (error.name or str(error)).split(".")[0]  # the package to install
    if Path(sys.prefix).resolve() == VENV.resolve():
        return f"{module} is not installed in .venv: run `make run` (or scripts/setup.sh run) to install it"
    return (
        f"{module} is not installed for {sys.executable}: run `make run` once (it sets up .venv), "
        f"then .venv/bin/python {command}"
    )


def aws_problem(error: BaseException) -> str | None:
    """One line for an error of boto3 (no region, no credentials, a refusal); None for others."""
    try:
        from botocore import exceptions
    except ImportError:
        return None
    if isinstance(error, exceptions.NoRegionError):
        return "no AWS region: pass --region REGION (or set AWS_DEFAULT_REGION, or run `aws configure`)"
    if isinstance(error, exceptions.NoCredentialsError | exceptions.PartialCredentialsError):
        return "no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"
    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in CREDENTIAL_CODES:
            return f"AWS refused the credentials ({code}): refresh them (`aws configure` or `aws sso login`)"
        if "does not exist" in message:
            return f"AWS: {message}; check --stack and --region"
        return f"AWS refused {error.operation_name}: {code}: {message}"
    if isinstance(error, exceptions.BotoCoreError):
        return f"AWS: {error}"
    return None
