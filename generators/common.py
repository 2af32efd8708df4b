"""Small helpers every generator uses: template set-up, ARNs, policies on stateful resources."""

from __future__ import annotations

from troposphere import Sub, Tags, Template

from . import naming

METADATA_KEY = "WeeklyModels"


def new_template(description: str) -> Template:
    t = Template(Description=description)
    t.set_version("2010-09-09")
    return t


def why(text: str, **extra) -> dict:
    """Resource Metadata saying why the resource exists (read by the docs, kept with the code)."""
    return {METADATA_KEY: {"Why": text}, **extra}


def checkov_skip(*pairs: tuple[str, str]) -> dict:
    """Metadata suppressing checkov findings, each with its reason."""
    return {"checkov": {"skip": [{"id": i, "comment": c} for i, c in pairs]}}


def stateful(policy: str) -> dict:
    """Explicit DeletionPolicy and UpdateReplacePolicy for resources that hold data."""
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def arn(service: str, resource: str, *, region: bool = True) -> Sub:
    """An ARN in this stack's partition, region and account."""
    where = "${AWS::Region}" if region else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:${{AWS::AccountId}}:{resource}")


def env_tags(env: str) -> Tags:
    return Tags(Project=naming.PROJECT, Environment=env)


def render(template: Template) -> str:
    """Deterministic YAML: keys sorted, short-form intrinsic functions."""
    # Sceptre puts a document start on every template it renders; so do we, for identical bytes.
    return "---\n" + template.to_yaml()
