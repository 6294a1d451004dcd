"""Resource keys and dependencies.

One spelling per resource, used both when the index is written (from a Snapshot) and when
it is read (from a change event or `--affected-by`), so that the two always meet:

| resource | key |
|---|---|
| security group, subnet, route table, route table association, VPC endpoint, VPC, flow log | its EC2 id (`sg-...`, `subnet-...`, `rtb-...`, `rtbassoc-...`, `vpce-...`, `vpc-...`, `fl-...`) |
| bucket (name or ARN, with or without a key) | `arn:<partition>:s3:::<bucket>` |
| IAM role (ARN with or without a path, or a name with the account) | `arn:<partition>:iam::<account>:role/<name>` (role names are unique in an account whatever the path) |
| KMS key (ARN, key id, alias) | its ARN (`arn:...:key/<id>` or `arn:...:alias/<name>`) |
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from ..facts import Snapshot
from ..inventory import bucket_of
from ..model import Subject

# EC2 id prefixes a subject can depend on.
EC2_PREFIXES = ("sg-", "subnet-", "rtbassoc-", "rtb-", "vpce-", "vpc-", "fl-")
# Keys only a subject's VPC facts can tell (route tables, endpoints, flow logs, the VPC):
# `--affected-by` without the index reads the VPC for these, and nothing more for the others.
VPC_LEVEL_PREFIXES = ("rtbassoc-", "rtb-", "vpce-", "vpc-", "fl-")


def partition_of(arn: str | None) -> str:
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def bucket_key(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def role_key(role_name: str, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def resource_key(text: str, *, account: str = "", region: str = "", partition: str = "aws") -> str:
    """The index key of a resource named by id, name or ARN. Raises ValueError for text
    that names nothing a subject can depend on."""
    value = text.strip()
    if not value:
        raise ValueError("an empty resource name")
    if value.startswith(EC2_PREFIXES):
        return value
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) < 6:
            raise ValueError(f"{value!r} is not a complete ARN")
        _, part, service, arn_region, arn_account, rest = parts
        if service == "s3":
            bucket = rest.split("/", 1)[0]
            if not bucket:
                raise ValueError(f"{value!r} names no bucket")
            return bucket_key(bucket, part)
        if service == "iam" and rest.startswith("role/"):
            return role_key(rest.rsplit("/", 1)[-1], arn_account, part)
        if service == "kms" and rest.startswith(("key/", "alias/")):
            return value
        if service == "ec2" and "/" in rest:
            return resource_key(rest.rsplit("/", 1)[-1])
        raise ValueError(
            f"{value!r} is not a security group, subnet, route table, VPC endpoint, VPC, bucket, "
            "IAM role or KMS key"
        )
    if value.startswith("s3://"):
        uri_bucket = bucket_of(value)
        if uri_bucket:
            return bucket_key(uri_bucket, partition)
    if value.startswith("alias/") or _is_key_id(value):
        if not (account and region):
            raise ValueError(f"KMS key {value!r}: give its ARN")
        return f"arn:{partition}:kms:{region}:{account}:{value if value.startswith('alias/') else 'key/' + value}"
    if "/" in value or ":" in value:
        raise ValueError(f"{value!r} is not a resource id, a bucket name or an ARN")
    return bucket_key(value, partition)  # a plain name is a bucket's


def _is_key_id(value: str) -> bool:
    """A KMS key id: a UUID, or a multi-Region key id (mrk-...)."""
    parts = value.split("-")
    if value.startswith("mrk-"):
        return len(value) == 36
    return len(parts) == 5 and all(p and all(c in "0123456789abcdef" for c in p.lower()) for p in parts)


def subject_key(subject: Subject) -> str | None:
    """What the index calls a subject: its ARN (None for a preflight, which is no subject)."""
    return subject.arn or None


def subject_dependencies(subject: Subject) -> set[str]:
    """What a subject names itself: its subnets, groups, role, buckets and KMS keys (no VPC
    facts needed)."""
    partition = partition_of(subject.arn)
    deps: set[str] = set()
    if subject.vpc_config is not None:
        deps.update(subject.vpc_config.subnet_ids)
        deps.update(subject.vpc_config.security_group_ids)
    if subject.execution_role_arn:
        with suppress(ValueError):  # a malformed role ARN: the role check reports it
            deps.add(resource_key(subject.execution_role_arn))
    for uri in (*subject.input_s3_uris, *subject.output_s3_uris):
        bucket = bucket_of(uri)
        if bucket:
            deps.add(bucket_key(bucket, partition))
    for key in subject.kms_key_ids:
        with suppress(ValueError):  # an unreadable key id: the KMS checks report it
            deps.add(resource_key(key, account=subject.account, region=subject.region, partition=partition))
    return deps


def dependencies(snapshot: Snapshot) -> frozenset[str]:
    """Every resource whose change can change the subject's results: what it names itself,
    plus its VPC, the effective route table of each of its subnets and the association that
    makes it effective, the VPC's endpoints and the flow logs that cover it."""
    deps = subject_dependencies(snapshot.subject)
    if snapshot.vpc_id:
        deps.add(snapshot.vpc_id)
    for subnet_id, table in snapshot.effective_route_tables().items():
        if table is None:
            continue
        deps.add(table.id)
        association = table.subnet_association_ids.get(subnet_id) or (
            table.main_association_id if table.is_main and subnet_id not in table.subnet_ids else None
        )
        if association:
            deps.add(association)
    deps.update(endpoint.id for endpoint in snapshot.endpoints)
    deps.update(flow_log.id for flow_log in snapshot.flow_logs)
    return frozenset(deps)


def describe_keys(keys: Iterable[str]) -> str:
    return ", ".join(sorted(keys))
