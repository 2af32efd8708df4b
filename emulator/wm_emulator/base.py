"""What every extension type shares: its CloudFormation plumbing, from a few class attributes.

`Extension` is a plain mixin, placed first in the bases:
`class SchedulerSchedule(Extension, CloudFormationModel)`. It must not subclass
CloudFormationModel itself, because moto's registry (parsing.get_model_list) sees only
the DIRECT subclasses of CloudFormationModel.

A class declares:
- TYPE: its CloudFormation type; NAME_PROPERTY: the property naming it ("" if none)
- PROPERTIES: exactly the properties it passes to moto's backend. Any other property
  is refused with a ValidationError, because moto would otherwise drop it and still
  answer CREATE_COMPLETE: nothing answers success without doing the work.
- REF: what `Ref` returns, ATTRIBUTES: what `Fn::GetAtt` can read, each as a dotted path
  on the instance (e.g. "schedule.arn")
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError


class Extension:
    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    PROPERTIES: ClassVar[frozenset[str]]
    REF: ClassVar[str]
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return attrgetter(self.ATTRIBUTES[attribute_name])(self)

    @property
    def physical_resource_id(self) -> str:
        return attrgetter(self.REF)(self)

    def is_created(self) -> bool:
        return True

    @classmethod
    def given_name(cls, props: Mapping[str, Any], generated: str) -> str:
        """The name a creation gives: the name property, else the name moto generated. (moto
        looks the name property up in the first class of a type, which for ECS is its own.)"""
        return props.get(cls.NAME_PROPERTY) or generated

    @classmethod
    def kept_name(cls, props: Mapping[str, Any], current: str) -> str:
        """The name an update gives: without a name property moto makes up a new one on every
        update, where CloudFormation keeps the one it generated at creation."""
        return props.get(cls.NAME_PROPERTY) or current

    @classmethod
    def properties(cls, cloudformation_json: dict[str, Any]) -> dict[str, Any]:
        """The resource's Properties; refuses any this class does not pass to moto's backend."""
        props = cloudformation_json.get("Properties") or {}
        unknown = sorted(set(props) - cls.PROPERTIES)
        if unknown:
            what = "property" if len(unknown) == 1 else "properties"
            raise ValidationError(message=(
                f"the local emulator does not model {what} {', '.join(unknown)} of {cls.TYPE} "
                f"(it would be dropped silently); it models: {', '.join(sorted(cls.PROPERTIES))}"))
        return props


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    """The properties whose values differ between two sets of resolved properties (absent counts)."""
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def tag_changes(old: list[dict[str, str]] | None, new: list[dict[str, str]] | None) -> tuple[dict[str, str], list[str]]:
    """CloudFormation's Tags before and after -> (tags to set, keys to remove), as its handlers do."""
    before = {t["Key"]: t["Value"] for t in old or []}
    after = {t["Key"]: t["Value"] for t in new or []}
    return ({k: v for k, v in after.items() if before.get(k) != v}, sorted(set(before) - set(after)))
