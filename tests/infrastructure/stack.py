"""The SAM template as the tests read it: as written (CloudFormation's short tags kept as their
long forms), after SAM's transform, as CloudFormation would deploy it (aws-sam-translator,
offline), and values worked out for one stack (the page's Content-Security-Policy)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/catbreed/5f1c7a40-9b3e-11f0-8d2e-0a1b2c3d4e5f"
PSEUDO = {"AWS::StackId": STACK_ID, "AWS::StackName": "catbreed", "AWS::URLSuffix": "amazonaws.com"}


def resolve(node: Any, region: str, conditions: dict[str, bool]) -> Any:
    """A value with CloudFormation's Ref (pseudo parameters), Join, Select, Split, Sub and If
    worked out for one stack (the resource references in Sub are left as they are)."""
    pseudo = {**PSEUDO, "AWS::Region": region}
    if isinstance(node, list):
        values = [resolve(item, region, conditions) for item in node]
        return [v for v in values if v is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((name, args),) = node.items()
        if name == "Ref" and args in pseudo:
            return pseudo[args]
        if name == "Ref" and args == "AWS::NoValue":
            return NO_VALUE
        if name == "Fn::If":
            condition, yes, no = args
            return resolve(yes if conditions[condition] else no, region, conditions)
        if name == "Fn::Join":
            separator, items = args
            return separator.join(resolve(items, region, conditions))
        if name == "Fn::Select":
            index, items = resolve(args, region, conditions)
            return items[int(index)]
        if name == "Fn::Split":
            separator, text = resolve(args, region, conditions)
            return text.split(separator)
        if name == "Fn::Sub" and isinstance(args, str):
            return re.sub(r"\$\{(AWS::\w+)\}", lambda m: pseudo[m.group(1)], args)
    return {key: resolve(value, region, conditions) for key, value in node.items()}


NO_VALUE = object()


def csp(deployed: dict, region: str, per_ip: bool) -> dict[str, list[str]]:
    config = deployed["Resources"]["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    header = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert header["Override"] is True
    text = resolve(header["ContentSecurityPolicy"], region, {"PerIpLimit": per_ip})
    return {d.split()[0]: d.split()[1:] for d in text.split("; ")}
