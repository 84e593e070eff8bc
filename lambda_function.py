"""AWS Lambda entry point. The model loads once per container, at import."""

from catbreed.app import create_gateway

GATEWAY = create_gateway()


def lambda_handler(event: dict, context: object) -> dict:
    """Direct invoke, API Gateway HTTP API (v2) and REST API (v1) events; see API.md."""
    return GATEWAY.handle(event, context)
