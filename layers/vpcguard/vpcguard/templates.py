"""The SageMaker models a template would create, for `vpcguard preflight --template FILE`.

Inputs
- CloudFormation or SAM templates, YAML (with the short intrinsic tags `!Ref`, `!Sub`,
  `!GetAtt`, `!Select`, ...) or JSON: every `AWS::SageMaker::Model`.
- Terraform plans as `terraform show -json` writes them: every `aws_sagemaker_model` in
  `resource_changes` that the plan does not only delete (or, in a plan without
  `resource_changes`, in `planned_values`).
CloudFormation has no transform-job resource type and Terraform no transform-job resource,
so a template only ever yields models.

Values are resolved where the template alone decides them: `Ref` to a parameter (its
`--parameter NAME=VALUE` override, else its Default; list types are split on commas) or to a
pseudo parameter (AWS::Region, AWS::Partition, AWS::URLSuffix, AWS::AccountId, AWS::NoValue),
`Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::If` with its
Conditions (`Fn::Equals`/`And`/`Or`/`Not`). A value that only exists once the stack is
deployed (a `Ref`/`GetAtt` to a resource of the same template, `Fn::ImportValue`, an SSM
parameter type, a Terraform value "known after apply") cannot be checked against the account:
the model gets an `Unresolved` reason naming the value, and is reported as ERROR, never
guessed at.

Every resource keeps the line it starts on (the loaders below record the line of every
mapping key and list item), for SARIF.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]  # the C scanner json itself uses
from json.scanner import NUMBER_RE
from typing import Any, Literal

Path = tuple[str | int, ...]
Lines = dict[Path, int]  # path of a mapping key or list item -> its 1-based line

MODEL_TYPE = "AWS::SageMaker::Model"
TERRAFORM_MODEL_TYPE = "aws_sagemaker_model"


class TemplateError(ValueError):
    """The file cannot be read as a template at all (one line for the CLI)."""


class Unresolved(Exception):
    """A value the template alone does not decide; the message says which and why."""


@dataclass(frozen=True)
class TemplateModel:
    """One model as the template describes it, resolved as far as the template allows."""

    logical_id: str  # CloudFormation logical id, or the Terraform resource address
    line: int  # where the resource starts in the file
    model_name: str
    subnet_ids: tuple[str, ...] | None  # None: the model has no VpcConfig
    security_group_ids: tuple[str, ...] = ()
    role_arn: str | None = None
    role_note: str | None = None  # why the execution role cannot be checked, if it cannot
    network_isolation: bool | None = None
    error: str | None = None  # a VpcConfig value that could not be resolved


@dataclass(frozen=True)
class ParsedTemplate:
    path: str
    kind: Literal["cloudformation", "terraform-plan"]
    models: tuple[TemplateModel, ...]


# --- JSON with line numbers -------------------------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def load_json_with_lines(text: str) -> tuple[Any, Lines]:
    """json.loads, plus the line of every object key and array item. The text is checked
    with json.loads first, so the walk below only ever sees valid JSON."""
    value = json.loads(text)
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines: Lines = {}

    def line_of(offset: int) -> int:
        return bisect_right(starts, offset)

    def skip(index: int) -> int:
        return _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]

    def walk(index: int, path: Path) -> int:
        index = skip(index)
        char = text[index]
        if char == "{":
            index = skip(index + 1)
            if text[index] == "}":
                return index + 1
            while True:
                key_line = line_of(index)
                key, index = scanstring(text, index + 1)
                lines[(*path, key)] = key_line
                index = skip(index) + 1  # the colon
                index = skip(walk(index, (*path, key)))
                if text[index] == "}":
                    return index + 1
                index = skip(index + 1)  # the comma
        if char == "[":
            index = skip(index + 1)
            if text[index] == "]":
                return index + 1
            position = 0
            while True:
                lines[(*path, position)] = line_of(index)
                index = skip(walk(index, (*path, position)))
                position += 1
                if text[index] == "]":
                    return index + 1
                index = skip(index + 1)
        if char == '"':
            return scanstring(text, index + 1)[1]
        for literal in ("true", "false", "null"):
            if text.startswith(literal, index):
                return index + len(literal)
        number = NUMBER_RE.match(text, index)
        assert number is not None  # json.loads accepted the text
        return number.end()

    walk(0, ())
    return value, lines


# --- YAML with the short intrinsic tags and line numbers ----------------------------------------

_INTRINSIC_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Length",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "ToJsonString",
            "Transform",
        )
    },
}


def load_yaml_with_lines(text: str) -> tuple[Any, Lines]:
    """A CloudFormation YAML template as the JSON form CloudFormation reads (`!Ref X` is
    `{"Ref": "X"}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`), plus the line of every
    key and list item. Dates stay strings, as CloudFormation reads them."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency of the CLI package
        raise TemplateError("reading YAML templates needs PyYAML: pip install PyYAML") from None

    loader = yaml.SafeLoader("")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {' '.join(str(exc).split())}") from None
    lines: Lines = {}

    def convert(node: Any, path: Path) -> Any:
        tag = node.tag
        if tag in _INTRINSIC_TAGS:
            name = _INTRINSIC_TAGS[tag]
            if isinstance(node, yaml.ScalarNode):
                inner: Any = node.value
                if name == "Fn::GetAtt":
                    inner = node.value.split(".", 1)
            else:
                inner = convert_collection(node, (*path, name))
            return {name: inner}
        if tag.startswith("!"):
            raise TemplateError(f"line {node.start_mark.line + 1}: unknown tag {tag}")
        if isinstance(node, yaml.ScalarNode):
            if tag == "tag:yaml.org,2002:timestamp":
                return node.value
            return loader.construct_object(node, deep=True)
        return convert_collection(node, path)

    def convert_collection(node: Any, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = convert(key_node, path)
                if isinstance(key, dict | list):
                    raise TemplateError(
                        f"line {key_node.start_mark.line + 1}: a mapping key must be a scalar"
                    )
                lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = convert(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for position, item in enumerate(node.value):
                lines[(*path, position)] = item.start_mark.line + 1
                items.append(convert(item, (*path, position)))
            return items
        return convert(node, path)

    if root is None:
        return None, lines
    try:
        return convert(root, ()), lines
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {' '.join(str(exc).split())}") from None


# --- CloudFormation: resolving what the template decides ----------------------------------------

_NO_VALUE = object()  # AWS::NoValue: the property is removed
_PSEUDO_UNKNOWN = ("AWS::StackName", "AWS::StackId", "AWS::NotificationARNs")


def show(value: Any) -> str:
    """An intrinsic as a person writes it in YAML (`!Ref X`, `!GetAtt A.B`), else short JSON."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, inner),) = value.items()
        if name == "Ref":
            return f"!Ref {inner}"
        if name == "Fn::GetAtt" and isinstance(inner, list) and len(inner) == 2:
            return f"!GetAtt {inner[0]}.{inner[1]}"
        if isinstance(name, str) and name.startswith("Fn::"):
            text = json.dumps(inner, separators=(",", ":"), default=str)
            return f"!{name[4:]} {text if len(text) <= 80 else text[:77] + '...'}"
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class CfnResolver:
    """Evaluates intrinsic functions of one template, as far as the template decides them."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        region: str,
        parameters: Mapping[str, str] | None = None,
        account_id: Callable[[], str] | None = None,
    ):
        self.parameters = template.get("Parameters") or {}
        self.resources = template.get("Resources") or {}
        self.mappings = template.get("Mappings") or {}
        self.conditions = template.get("Conditions") or {}
        self.overrides = dict(parameters or {})
        self.region = region
        self._account_id = account_id
        self._condition_values: dict[str, bool] = {}
        unknown = sorted(set(self.overrides) - set(self.parameters))
        if unknown:
            raise TemplateError(f"--parameter names no parameter of the template: {', '.join(unknown)}")

    # --- values -----------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic evaluated; Unresolved if one cannot be."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((name, inner),) = value.items()
                if name == "Ref":
                    return self._ref(inner, value)
                if isinstance(name, str) and name.startswith("Fn::"):
                    return self._function(name, inner, value)
            out = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not _NO_VALUE}
        return value

    def _ref(self, name: Any, original: Any) -> Any:
        if not isinstance(name, str):
            raise Unresolved(f"{show(original)} is not a valid Ref")
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name == "AWS::Region":
            return self.region
        if name == "AWS::Partition":
            return _partition(self.region)
        if name == "AWS::URLSuffix":
            return "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        if name == "AWS::AccountId":
            if self._account_id is None:
                raise Unresolved("!Ref AWS::AccountId: the account is not known")
            return self._account_id()
        if name in _PSEUDO_UNKNOWN:
            raise Unresolved(f"!Ref {name} is known only once the stack exists")
        if name in self.parameters:
            return self._parameter(name)
        if name in self.resources:
            kind = (self.resources[name] or {}).get("Type", "resource")
            raise Unresolved(
                f"!Ref {name} is the {kind} {name} of this template: its id exists only once the stack is "
                "deployed, so it cannot be checked against the account (create it first and pass its id "
                "as a parameter)"
            )
        raise Unresolved(f"!Ref {name} names no parameter or resource of this template")

    def _parameter(self, name: str) -> Any:
        declared = self.parameters[name] or {}
        kind = str(declared.get("Type", "String"))
        if kind.startswith("AWS::SSM::Parameter::Value"):
            if name in self.overrides:
                return self._typed(
                    kind.removeprefix("AWS::SSM::Parameter::Value<").rstrip(">"), self.overrides[name]
                )
            raise Unresolved(
                f"!Ref {name}: parameter {name} is read from SSM Parameter Store at deploy time "
                f"(give its value with --parameter {name}=VALUE)"
            )
        if name in self.overrides:
            return self._typed(kind, self.overrides[name])
        if "Default" not in declared:
            raise Unresolved(
                f"!Ref {name}: parameter {name} has no Default (give its value with --parameter {name}=VALUE)"
            )
        return self._typed(kind, declared["Default"])

    @staticmethod
    def _typed(kind: str, value: Any) -> Any:
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            if isinstance(value, list):
                return [str(v) for v in value]
            return [part.strip() for part in str(value).split(",") if part.strip()]
        return value if isinstance(value, bool | int | float) and kind == "Number" else str(value)

    def _get_att(self, inner: Any, original: Any) -> Any:
        if isinstance(inner, str):
            inner = inner.split(".", 1)
        if not isinstance(inner, list) or len(inner) != 2:
            raise Unresolved(f"{show(original)} is not a valid GetAtt")
        resource, attribute = inner[0], self.resolve(inner[1])
        if resource in self.resources:
            kind = (self.resources[resource] or {}).get("Type", "resource")
            raise Unresolved(
                f"!GetAtt {resource}.{attribute} is an attribute of the {kind} {resource} of this template: "
                "known only once the stack is deployed"
            )
        raise Unresolved(f"!GetAtt {resource}.{attribute} names no resource of this template")

    def _function(self, name: str, inner: Any, original: Any) -> Any:
        if name == "Fn::GetAtt":
            return self._get_att(inner, original)
        if name == "Fn::Sub":
            return self._sub(inner, original)
        if name == "Fn::Join":
            delimiter, items = self._args(inner, 2, original)
            parts = self.resolve(items)
            if not isinstance(parts, list):
                raise Unresolved(f"{show(original)}: the second argument is not a list")
            return str(self.resolve(delimiter)).join(str(p) for p in parts)
        if name == "Fn::Select":
            index, items = self._args(inner, 2, original)
            chosen = self.resolve(items)
            try:
                return chosen[int(self.resolve(index))]
            except (IndexError, TypeError, ValueError):
                raise Unresolved(f"{show(original)}: index out of range of {show(chosen)}") from None
        if name == "Fn::Split":
            delimiter, text = self._args(inner, 2, original)
            return str(self.resolve(text)).split(str(self.resolve(delimiter)))
        if name == "Fn::FindInMap":
            if not isinstance(inner, list) or len(inner) not in (3, 4):
                raise Unresolved(f"{show(original)} is not a valid FindInMap")
            keys = [self.resolve(k) for k in inner[:3]]
            try:
                return self.resolve(self.mappings[keys[0]][keys[1]][keys[2]])
            except (KeyError, TypeError):
                if len(inner) == 4 and isinstance(inner[3], Mapping) and "DefaultValue" in inner[3]:
                    return self.resolve(inner[3]["DefaultValue"])
                raise Unresolved(f"{show(original)}: no such entry in Mappings") from None
        if name == "Fn::If":
            condition, when_true, when_false = self._args(inner, 3, original)
            return self.resolve(when_true if self.condition(str(condition)) else when_false)
        if name == "Fn::ImportValue":
            raise Unresolved(f"{show(original)} is exported by another stack: known only at deploy time")
        if name in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
            return self._condition_function(name, inner, original)
        raise Unresolved(f"{show(original)}: {name} is not evaluated by preflight")

    @staticmethod
    def _args(inner: Any, count: int, original: Any) -> list[Any]:
        if not isinstance(inner, list) or len(inner) != count:
            raise Unresolved(f"{show(original)} needs a list of {count} arguments")
        return inner

    _SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

    def _sub(self, inner: Any, original: Any) -> str:
        if isinstance(inner, list) and len(inner) == 2 and isinstance(inner[1], Mapping):
            text, variables = inner[0], {k: self.resolve(v) for k, v in inner[1].items()}
        elif isinstance(inner, str):
            text, variables = inner, {}
        else:
            raise Unresolved(f"{show(original)} is not a valid Sub")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the text ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self._get_att(name.split(".", 1), {"Fn::GetAtt": name.split(".", 1)}))
            value = self._ref(name, {"Ref": name})
            return ",".join(value) if isinstance(value, list) else str(value)

        return self._SUB_VARIABLE.sub(replace, str(text))

    # --- conditions ---------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self.conditions:
            raise Unresolved(f"condition {name} is not declared in Conditions")
        self._condition_values[name] = False  # a cycle ends as false rather than recursing forever
        value = bool(self._truth(self.conditions[name]))
        self._condition_values[name] = value
        return value

    def _truth(self, value: Any) -> bool:
        if isinstance(value, Mapping) and len(value) == 1:
            ((name, inner),) = value.items()
            if name == "Condition":
                return self.condition(str(inner))
            if name in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
                return self._condition_function(name, inner, value)
        resolved = self.resolve(value)
        return resolved is True or str(resolved).lower() == "true"

    def _condition_function(self, name: str, inner: Any, original: Any) -> bool:
        if not isinstance(inner, list):
            raise Unresolved(f"{show(original)} needs a list")
        if name == "Fn::Equals":
            left, right = self._args(inner, 2, original)
            return str(self.resolve(left)) == str(self.resolve(right))
        if name == "Fn::Not":
            (only,) = self._args(inner, 1, original)
            return not self._truth(only)
        if name == "Fn::And":
            return all(self._truth(v) for v in inner)
        return any(self._truth(v) for v in inner)


# --- the models --------------------------------------------------------------------------------


def _id_list(resolver: CfnResolver, raw: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    """Subnets or SecurityGroupIds: each item resolved on its own, so the message can name
    the one that is not known (`VpcConfig.Subnets[1] is !Ref PrivateB, ...`)."""
    if isinstance(raw, list):
        out: list[str] = []
        for position, item in enumerate(raw):
            try:
                value = resolver.resolve(item)
            except Unresolved as exc:
                problems.append(f"{where}[{position}]: {exc}")
                continue
            out.extend(_ids(value))
        return tuple(out)
    try:
        value = resolver.resolve(raw)
    except Unresolved as exc:
        problems.append(f"{where}: {exc}")
        return ()
    return _ids(value)


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (name,) = value
    return name == "Ref" or (isinstance(name, str) and name.startswith("Fn::"))


def _ids(value: Any) -> tuple[str, ...]:
    if value is None or value is _NO_VALUE:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _cfn_vpc_config(
    resolver: CfnResolver, raw: Any, problems: list[str]
) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """(subnets, groups) of a VpcConfig property; subnets None when there is no VpcConfig."""
    if raw is None:
        return None, ()
    if isinstance(raw, Mapping) and not _is_intrinsic(raw):
        subnets = _id_list(resolver, raw.get("Subnets", []), "VpcConfig.Subnets", problems)
        return subnets, _id_list(
            resolver, raw.get("SecurityGroupIds", []), "VpcConfig.SecurityGroupIds", problems
        )
    try:  # the whole VpcConfig is an intrinsic, e.g. !If [UseVpc, {...}, !Ref AWS::NoValue]
        vpc = resolver.resolve(raw)
    except Unresolved as exc:
        problems.append(f"VpcConfig: {exc}")
        return (), ()
    if vpc is _NO_VALUE or vpc is None:
        return None, ()
    if not isinstance(vpc, Mapping):
        problems.append(f"VpcConfig: {show(raw)} is not a mapping")
        return (), ()
    return _ids(vpc.get("Subnets")), _ids(vpc.get("SecurityGroupIds"))


def _flag(value: Any) -> bool | None:
    if value is None or value is _NO_VALUE:
        return None
    return value is True or str(value).lower() == "true"


def _cfn_models(
    template: Mapping[str, Any], lines: Lines, resolver: CfnResolver, fallback_role: str | None
) -> list[TemplateModel]:
    models = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") != MODEL_TYPE:
            continue
        condition = resource.get("Condition")
        if condition:
            try:
                if not resolver.condition(str(condition)):
                    continue  # the stack would not create it
            except Unresolved:
                pass  # it may be created: check it
        props = resource.get("Properties") or {}
        problems: list[str] = []
        subnets, groups = _cfn_vpc_config(resolver, props.get("VpcConfig"), problems)
        role, role_note = _cfn_role(resolver, props, fallback_role)
        try:
            isolation = _flag(resolver.resolve(props.get("EnableNetworkIsolation")))
        except Unresolved:
            isolation = None
        try:
            name = str(resolver.resolve(props.get("ModelName") or logical_id))
        except Unresolved:
            name = logical_id
        models.append(
            TemplateModel(
                logical_id=logical_id,
                line=lines.get(("Resources", logical_id), 1),
                model_name=name,
                subnet_ids=subnets,
                security_group_ids=groups,
                role_arn=role,
                role_note=role_note,
                network_isolation=isolation,
                error=_error_text(problems),
            )
        )
    return models


def _cfn_role(
    resolver: CfnResolver, props: Mapping[str, Any], fallback: str | None
) -> tuple[str | None, str | None]:
    raw = props.get("ExecutionRoleArn")
    if raw is None:
        return fallback, None
    try:
        value = resolver.resolve(raw)
    except Unresolved as exc:
        if fallback:
            return (
                fallback,
                f"ExecutionRoleArn {show(raw)} cannot be resolved ({exc}); checked --role-arn {fallback}",
            )
        return None, f"ExecutionRoleArn {show(raw)} cannot be checked before deployment: {exc}"
    return (str(value) if value not in (None, _NO_VALUE) else fallback), None


def _error_text(problems: list[str]) -> str | None:
    if not problems:
        return None
    return "cannot be checked against the account before deployment: " + "; ".join(problems)


# --- Terraform plans ----------------------------------------------------------------------------


def _unknown(after_unknown: Any, *keys: str | int) -> bool:
    """Is the value at `keys` (or anything under it) "known after apply"?"""
    node = after_unknown
    for key in keys:
        if node is True:
            return True
        if isinstance(node, Mapping):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return False
    return node is True or (isinstance(node, list) and any(v is True for v in node))


def _terraform_model(
    address: str, line: int, after: Mapping[str, Any], unknown: Any, fallback_role: str | None
) -> TemplateModel:
    problems: list[str] = []
    blocks = after.get("vpc_config") or []
    subnets: tuple[str, ...] | None = None
    groups: tuple[str, ...] = ()
    if blocks or _unknown(unknown, "vpc_config"):
        block = blocks[0] if blocks else {}
        for key, label in (
            ("subnets", "vpc_config.subnets"),
            ("security_group_ids", "vpc_config.security_group_ids"),
        ):
            if _unknown(unknown, "vpc_config", 0, key) or (not blocks and _unknown(unknown, "vpc_config")):
                problems.append(
                    f"{label} is known only after apply (it comes from a resource created in the same plan)"
                )
        subnets = tuple(str(s) for s in (block.get("subnets") or []))
        groups = tuple(str(g) for g in (block.get("security_group_ids") or []))
    role, role_note = after.get("execution_role_arn"), None
    if not role:
        role = fallback_role
        if _unknown(unknown, "execution_role_arn"):
            role_note = (
                f"execution_role_arn is known only after apply; checked --role-arn {fallback_role}"
                if fallback_role
                else "execution_role_arn is known only after apply, so the role cannot be checked before it"
            )
    return TemplateModel(
        logical_id=address,
        line=line,
        model_name=str(after.get("name") or address),
        subnet_ids=subnets,
        security_group_ids=groups,
        role_arn=role,
        role_note=role_note,
        network_isolation=_flag(after.get("enable_network_isolation")),
        error=_error_text(problems),
    )


def _terraform_models(
    plan: Mapping[str, Any], lines: Lines, fallback_role: str | None
) -> list[TemplateModel]:
    models = []
    changes = plan.get("resource_changes")
    if isinstance(changes, list):
        for position, change in enumerate(changes):
            if not isinstance(change, Mapping) or change.get("type") != TERRAFORM_MODEL_TYPE:
                continue
            if change.get("mode", "managed") != "managed":
                continue
            detail = change.get("change") or {}
            if list(detail.get("actions") or []) == ["delete"]:
                continue
            models.append(
                _terraform_model(
                    str(change.get("address") or change.get("name")),
                    lines.get(("resource_changes", position), 1),
                    detail.get("after") or {},
                    detail.get("after_unknown") or {},
                    fallback_role,
                )
            )
        return models

    def walk(module: Mapping[str, Any], path: Path) -> None:
        for position, resource in enumerate(module.get("resources") or []):
            if resource.get("type") == TERRAFORM_MODEL_TYPE and resource.get("mode", "managed") == "managed":
                line = lines.get((*path, "resources", position), 1)
                models.append(
                    _terraform_model(
                        str(resource.get("address")), line, resource.get("values") or {}, {}, fallback_role
                    )
                )
        for position, child in enumerate(module.get("child_modules") or []):
            walk(child, (*path, "child_modules", position))

    root = (plan.get("planned_values") or {}).get("root_module")
    if isinstance(root, Mapping):
        walk(root, ("planned_values", "root_module"))
    return models


# --- reading a file ------------------------------------------------------------------------------


def read_template(
    path: str,
    *,
    region: str,
    parameters: Mapping[str, str] | None = None,
    account_id: Callable[[], str] | None = None,
    fallback_role: str | None = None,
) -> ParsedTemplate:
    """Every model of the CloudFormation/SAM template or Terraform plan at `path`."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if text.lstrip().startswith("{"):
            document, lines = load_json_with_lines(text)
        else:
            document, lines = load_yaml_with_lines(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except TemplateError as exc:
        raise TemplateError(f"{path}: {exc}") from None
    if not isinstance(document, Mapping):
        raise TemplateError(f"{path}: not a CloudFormation template or a Terraform plan (not a mapping)")
    if "resource_changes" in document or "planned_values" in document:
        if parameters:
            raise TemplateError("--parameter applies to CloudFormation templates, not to Terraform plans")
        return ParsedTemplate(
            path, "terraform-plan", tuple(_terraform_models(document, lines, fallback_role))
        )
    if not isinstance(document.get("Resources"), Mapping):
        raise TemplateError(
            f"{path}: has no Resources: not a CloudFormation/SAM template, nor a Terraform plan "
            "(terraform show -json PLANFILE)"
        )
    resolver = CfnResolver(document, region=region, parameters=parameters, account_id=account_id)
    return ParsedTemplate(
        path, "cloudformation", tuple(_cfn_models(document, lines, resolver, fallback_role))
    )
