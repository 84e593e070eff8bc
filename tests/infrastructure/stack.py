"""The SAM template as the infrastructure tests read it: as written (CloudFormation's short
tags kept as their long forms) and after SAM's transform, as CloudFormation would deploy it
(aws-sam-translator, offline)."""

from __future__ import annotations

from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/catbreed:python3.12"


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


def written() -> dict:
    """template.yaml as written."""
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def translate(**parameters: str) -> dict:
    """The CloudFormation template SAM's transform makes with these parameter values, with the
    image URI `sam deploy` sets."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(TEMPLATE.read_text())
    sam["Resources"]["ClassifierFunction"]["Properties"]["ImageUri"] = IMAGE
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    return translator.translate(sam, parameter_values=parameters, get_managed_policy_map=dict)
