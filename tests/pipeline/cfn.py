"""Read template.yaml as CloudFormation does: short-form intrinsics (`!Ref`, `!GetAtt`,
`!Sub`, `!If`, ...) become their long forms, and `resolve` evaluates the few intrinsics the
local deployment needs against the physical ids it created.

The pipeline tests take rule patterns, queue settings, table keys and the function's
environment from here, so the template is what is tested, never a copy of it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
MEMBER_TEMPLATE = ROOT / "member.yaml"


# libyaml's parser when PyYAML has it: the pure-Python one took 1.3 s per read of template.yaml.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CfnLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that understands CloudFormation's short-form tags."""


def _intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


_parsed: dict[tuple[Path, int, int], dict[str, Any]] = {}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a fresh dict (callers may change it). Parsed once per file version:
    most pipeline tests deploy the stack again."""
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _parsed:
        with path.open() as handle:
            _parsed[key] = yaml.load(handle, Loader=CfnLoader)
    return copy.deepcopy(_parsed[key])


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}


class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Not, Fn::Equals, Fn::Join, Fn::Split,
    Fn::And, Fn::Or and Condition.

    `refs` maps a logical id or parameter to what `Ref` returns; `attributes` maps
    (logical id, attribute) to what `Fn::GetAtt` returns."""

    def __init__(
        self,
        template: Mapping[str, Any],
        refs: Mapping[str, str],
        attributes: Mapping[tuple[str, str], str],
    ):
        self.template = template
        self.refs = dict(refs)
        self.attributes = dict(attributes)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler: Callable[[Any], Any] | None = getattr(self, "_" + key.replace("Fn::", "fn_"), None)
            if handler is not None:
                return handler(arg)
        return {k: self(v) for k, v in value.items()}

    def _Ref(self, name: str) -> str:
        if name not in self.refs:
            raise KeyError(f"no local value for Ref {name}")
        return self.refs[name]

    def _fn_GetAtt(self, arg: list[str]) -> str:
        key = (arg[0], arg[1])
        if key not in self.attributes:
            raise KeyError(f"no local value for GetAtt {arg[0]}.{arg[1]}")
        return self.attributes[key]

    def _fn_Sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                return self._fn_GetAtt(name.split(".", 1))
            return self._Ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def _fn_Join(self, arg: list[Any]) -> str:
        return str(arg[0]).join(str(v) for v in self(arg[1]))  # a list, or an Fn::Split

    def _fn_Equals(self, arg: list[Any]) -> bool:
        return self(arg[0]) == self(arg[1])

    def _fn_Not(self, arg: list[Any]) -> bool:
        return not self(arg[0])

    def _fn_If(self, arg: list[Any]) -> Any:
        condition = self.template["Conditions"][arg[0]]
        return self(arg[1] if self(condition) else arg[2])

    def _fn_Split(self, arg: list[Any]) -> list[str]:
        return str(self(arg[1])).split(str(arg[0]))

    def _fn_And(self, arg: list[Any]) -> bool:
        return all(self(v) for v in arg)

    def _fn_Or(self, arg: list[Any]) -> bool:
        return any(self(v) for v in arg)

    def _fn_Condition(self, name: str) -> bool:
        return bool(self(self.template["Conditions"][name]))

    def condition(self, name: str) -> bool:
        return self._fn_Condition(name)
