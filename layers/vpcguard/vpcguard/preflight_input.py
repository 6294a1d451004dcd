"""`vpcguard preflight --from-json FILE`: the request a user is about to send, read as preflight's input.

FILE (or `-`, stdin) is one JSON object, in one of the shapes the AWS CLI uses
(`aws sagemaker create-model --generate-cli-skeleton` and friends):

- a VpcConfig: `{"Subnets": [...], "SecurityGroupIds": [...]}`;
- a CreateModel request: its VpcConfig, ExecutionRoleArn, EnableNetworkIsolation and
  ModelName (the containers are not checked);
- a CreateTransformJob request: its InstanceCount, data locations and KMS keys. It has no
  VpcConfig (that is the model's), so `--subnets` and `--security-groups` must give it.

Empty strings, as the generated skeletons have, count as absent. The command line's flags win
over the file's values. Every problem is a ValueError with one line naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

# What to say when the file has no VpcConfig and the flags give none either.
SHAPES = (
    'a VpcConfig ({"Subnets": [...], "SecurityGroupIds": [...]}), a CreateModel request with '
    "VpcConfig, or a CreateTransformJob request with --subnets and --security-groups"
)
_TRANSFORM_JOB_KEYS = frozenset(
    {"TransformJobName", "TransformInput", "TransformOutput", "TransformResources"}
)


@dataclass(frozen=True)
class PreflightRequest:
    """What a request file says about the model or job preflight checks (None: not said)."""

    kind: str  # "VpcConfig" | "CreateModel" | "CreateTransformJob"
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    role_arn: str | None = None
    enable_network_isolation: bool | None = None
    name: str | None = None
    instance_count: int | None = None
    kms_key_ids: tuple[str, ...] = ()
    input_s3_uris: tuple[str, ...] = ()
    output_s3_uris: tuple[str, ...] = ()

    @property
    def has_vpc_config(self) -> bool:
        return bool(self.subnet_ids or self.security_group_ids)


def read_request(path: str, stdin: IO[str] | None = None) -> PreflightRequest:
    """Read and parse FILE (`-`: `stdin`)."""
    label = "stdin" if path == "-" else path
    try:
        if path == "-":
            if stdin is None:
                raise ValueError("--from-json -: no stdin")
            text = stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise ValueError(f"--from-json {label}: cannot read it: {exc.strerror or exc}") from None
    return parse_request(text, label)


def parse_request(text: str, label: str) -> PreflightRequest:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--from-json {label}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"--from-json {label}: expected a JSON object ({SHAPES})")
    where = f"--from-json {label}"
    if "Subnets" in data or "SecurityGroupIds" in data:
        return PreflightRequest("VpcConfig", *_vpc_config(data, where, ""))
    if "VpcConfig" in data:
        subnets, groups = _vpc_config(data["VpcConfig"], where, "VpcConfig.")
        if not subnets and not groups:
            raise ValueError(f"{where}: VpcConfig names no subnets or security groups")
        return PreflightRequest(
            "CreateModel",
            subnets,
            groups,
            role_arn=_string(data, "ExecutionRoleArn", where),
            enable_network_isolation=_flag(data, "EnableNetworkIsolation", where),
            name=_string(data, "ModelName", where),
        )
    if _TRANSFORM_JOB_KEYS & set(data):
        return _transform_job(data, where)
    if "ModelName" in data or "PrimaryContainer" in data or "Containers" in data:
        raise ValueError(
            f"{where}: the CreateModel request has no VpcConfig, so the model would not run in a VPC"
        )
    raise ValueError(f"{where}: no VpcConfig ({SHAPES})")


def _vpc_config(block: Any, where: str, prefix: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not isinstance(block, Mapping):
        raise ValueError(f"{where}: {prefix.rstrip('.') or 'the file'} is not an object")
    return (
        _strings(block, "Subnets", where, prefix),
        _strings(block, "SecurityGroupIds", where, prefix),
    )


def _strings(block: Mapping[str, Any], key: str, where: str, prefix: str = "") -> tuple[str, ...]:
    value = block.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {prefix}{key} must be a list of strings")
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _string(block: Mapping[str, Any], key: str, where: str, prefix: str = "") -> str | None:
    value = block.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: {prefix}{key} must be a string")
    return value.strip() or None


def _flag(block: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = block.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{where}: {key} must be true or false")


def _object(block: Mapping[str, Any], key: str, where: str, prefix: str = "") -> Mapping[str, Any]:
    value = block.get(key) or {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: {prefix}{key} must be an object")
    return value


def _transform_job(data: Mapping[str, Any], where: str) -> PreflightRequest:
    resources = _object(data, "TransformResources", where)
    count = resources.get("InstanceCount")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"{where}: TransformResources.InstanceCount must be a whole number of at least 1")
    source = _object(_object(data, "TransformInput", where), "DataSource", where, "TransformInput.")
    s3_source = _object(source, "S3DataSource", where, "TransformInput.DataSource.")
    output = _object(data, "TransformOutput", where)
    input_uri = _string(s3_source, "S3Uri", where, "TransformInput.DataSource.S3DataSource.")
    output_uri = _string(output, "S3OutputPath", where, "TransformOutput.")
    keys = (
        _string(output, "KmsKeyId", where, "TransformOutput."),
        _string(resources, "VolumeKmsKeyId", where, "TransformResources."),
    )
    return PreflightRequest(
        "CreateTransformJob",
        name=_string(data, "TransformJobName", where),
        instance_count=count,
        kms_key_ids=tuple(k for k in keys if k),
        input_s3_uris=(input_uri,) if input_uri else (),
        output_s3_uris=(output_uri,) if output_uri else (),
    )
