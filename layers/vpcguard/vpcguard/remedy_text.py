"""A result's fix as people use it: a sentence, and the AWS CLI command(s) to copy.

One place for the HTML report and the Slack message. From the result alone (no AWS calls):

- a fix vpcguard applied (FIXED) or planned (WOULD_FIX) carries its exact API parameters:
  they become the equivalent `aws ...` command;
- a check with a suggestion (a policy to grant or paste) becomes the command that applies it;
- a fixable check left in notify mode (FAIL, no remediation) gets its command rebuilt from the
  ids the result names; what the result cannot know (a flow-log destination, a route table)
  is an UPPER_CASE placeholder, and the note says so.

Commands are one line, every argument shell-quoted, with `--region` so they act where the
subject is whatever the person's default region is.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Status
from .results import CheckResult

# The CLI's name for a service when it differs from the IAM prefix.
_CLI_SERVICE = {"s3": "s3api"}


@dataclass(frozen=True)
class Remedy:
    """What to do about one result (or what vpcguard did)."""

    text: str  # one or two sentences a person reads
    commands: tuple[str, ...] = ()  # copyable AWS CLI commands, in the order to run them
    document: str | None = None  # a policy statement to paste into a document (pretty JSON)
    note: str | None = None  # what to replace or know before running the commands
    action: str | None = None  # the IAM action of the change, e.g. ec2:AuthorizeSecurityGroupIngress
    applied: bool = False  # True: vpcguard already made this change (the commands are its equivalent)


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def _value(value: Any) -> str:
    if isinstance(value, Mapping) or (
        isinstance(value, list | tuple) and any(isinstance(v, Mapping | list | tuple) for v in value)
    ):
        return shlex.quote(json.dumps(value, separators=(", ", ": ")))
    if isinstance(value, list | tuple):
        return " ".join(shlex.quote(str(v)) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return shlex.quote(str(value))


def cli_command(action: str, params: Mapping[str, Any], region: str | None = None) -> str:
    """`ec2:ModifyVpcEndpoint` + {"VpcEndpointId": ..., "AddRouteTableIds": [...]} ->
    `aws ec2 modify-vpc-endpoint --region R --vpc-endpoint-id ... --add-route-table-ids ...`."""
    service, _, operation = action.partition(":")
    parts = ["aws", _CLI_SERVICE.get(service, service), _kebab(operation)]
    if region:
        parts += ["--region", shlex.quote(region)]
    for key, value in params.items():
        flag = f"--{_kebab(key)}"
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{_kebab(key)}")
        else:
            parts += [flag, _value(value)]
    return " ".join(parts)


def _first(ids: Sequence[str], prefix: str) -> str | None:
    return next((i for i in ids if i.startswith(prefix)), None)


def _all(ids: Sequence[str], prefix: str) -> list[str]:
    return [i for i in ids if i.startswith(prefix)]


def _pretty(document: Any) -> str:
    return json.dumps(document, indent=2)


# --- fixable checks in notify mode: the command rebuilt from the result's ids -----------------


def _sg_self_ingress(result: CheckResult, region: str) -> Remedy | None:
    from .checks.sg_self_ingress import self_rule

    group = _first(result.resource_ids, "sg-") or "SECURITY_GROUP_ID"
    return Remedy(
        text=f"Add an inbound rule to {group} allowing all traffic (all protocols, all ports) from {group} "
        "itself, so the job's instances can talk to each other.",
        commands=(
            cli_command(
                "ec2:AuthorizeSecurityGroupIngress",
                {"GroupId": group, "IpPermissions": self_rule(group)},
                region,
            ),
        ),
        action="ec2:AuthorizeSecurityGroupIngress",
    )


def _s3_endpoint_routes(result: CheckResult, region: str) -> Remedy | None:
    endpoint = _first(result.resource_ids, "vpce-") or "VPC_ENDPOINT_ID"
    tables = _all(result.resource_ids, "rtb-") or ["ROUTE_TABLE_ID"]
    return Remedy(
        text=f"Add route table(s) {', '.join(tables)} to S3 gateway endpoint {endpoint}, so S3 traffic from "
        "the model's subnets goes through the endpoint.",
        commands=(
            cli_command(
                "ec2:ModifyVpcEndpoint", {"VpcEndpointId": endpoint, "AddRouteTableIds": tables}, region
            ),
        ),
        action="ec2:ModifyVpcEndpoint",
    )


def _flow_logs_enabled(result: CheckResult, region: str) -> Remedy | None:
    vpc = _first(result.resource_ids, "vpc-") or "VPC_ID"
    params = {
        "ResourceType": "VPC",
        "ResourceIds": [vpc],
        "TrafficType": "ALL",
        "LogDestinationType": "cloud-watch-logs",
        "LogGroupName": "LOG_GROUP_NAME",
        "DeliverLogsPermissionArn": "DELIVERY_ROLE_ARN",
    }
    return Remedy(
        text=f"Create a flow log for {vpc} recording ALL traffic.",
        commands=(cli_command("ec2:CreateFlowLogs", params, region),),
        note="Replace LOG_GROUP_NAME and DELIVERY_ROLE_ARN with your CloudWatch Logs group and a role "
        "vpc-flow-logs.amazonaws.com can assume (the stack creates both), or deliver to S3 with "
        "--log-destination-type s3 --log-destination arn:aws:s3:::BUCKET.",
        action="ec2:CreateFlowLogs",
    )


def _vpc_dns_support(result: CheckResult, region: str) -> Remedy | None:
    vpc = _first(result.resource_ids, "vpc-") or "VPC_ID"
    return Remedy(
        text=f"Turn on DNS resolution (enableDnsSupport) for {vpc}; it changes name resolution for the whole VPC.",
        commands=(
            cli_command(
                "ec2:ModifyVpcAttribute", {"VpcId": vpc, "EnableDnsSupport": {"Value": True}}, region
            ),
        ),
        action="ec2:ModifyVpcAttribute",
    )


def _s3_endpoint_exists(result: CheckResult, region: str) -> Remedy | None:
    vpc = _first(result.resource_ids, "vpc-") or "VPC_ID"
    params = {
        "VpcId": vpc,
        "VpcEndpointType": "Gateway",
        "ServiceName": f"com.amazonaws.{region}.s3",
        "RouteTableIds": ["ROUTE_TABLE_ID"],
    }
    return Remedy(
        text=f"Create an S3 gateway endpoint in {vpc} on the route tables of the model's subnets.",
        commands=(cli_command("ec2:CreateVpcEndpoint", params, region),),
        note="Replace ROUTE_TABLE_ID with the route table(s) of the model's subnets (space-separated).",
        action="ec2:CreateVpcEndpoint",
    )


def _sg_egress_allows_s3(result: CheckResult, region: str) -> Remedy | None:
    group = _first(result.resource_ids, "sg-") or "SECURITY_GROUP_ID"
    commands: list[str] = []
    texts: list[str] = []
    note = None
    if "TCP 443 to" in result.detail:
        prefix_list = next(iter(re.findall(r"\bpl-[0-9a-f]+\b", result.detail)), None)
        if prefix_list is None:
            prefix_list = "S3_PREFIX_LIST_ID"
            note = "S3_PREFIX_LIST_ID is what the first command prints."
            commands.append(
                f"aws ec2 describe-managed-prefix-lists --region {shlex.quote(region)} --filters "
                f"Name=prefix-list-name,Values=com.amazonaws.{region}.s3 "
                "--query 'PrefixLists[0].PrefixListId' --output text"
            )
        rule = [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": prefix_list}],
            }
        ]
        commands.append(
            cli_command("ec2:AuthorizeSecurityGroupEgress", {"GroupId": group, "IpPermissions": rule}, region)
        )
        texts.append(f"Add an outbound rule to {group} for TCP 443 to the S3 prefix list.")
    if "all traffic to the model's security groups" in result.detail:
        rule = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
        commands.append(
            cli_command("ec2:AuthorizeSecurityGroupEgress", {"GroupId": group, "IpPermissions": rule}, region)
        )
        texts.append(f"Add an outbound rule to {group} for all traffic to {group} itself.")
    if not commands:
        return None
    return Remedy(
        text=" ".join(texts), commands=tuple(commands), note=note, action="ec2:AuthorizeSecurityGroupEgress"
    )


_NOTIFY_MODE: dict[str, Callable[[CheckResult, str], Remedy | None]] = {
    "sg_self_ingress": _sg_self_ingress,
    "s3_endpoint_routes": _s3_endpoint_routes,
    "flow_logs_enabled": _flow_logs_enabled,
    "vpc_dns_support": _vpc_dns_support,
    "s3_endpoint_exists": _s3_endpoint_exists,
    "sg_egress_allows_s3": _sg_egress_allows_s3,
}


# --- suggestions: a policy to grant or paste -----------------------------------------------


def _role_policy(result: CheckResult, remediation: Mapping[str, Any], region: str) -> Remedy:
    from .console import role_name

    role_arn = remediation.get("resource_id") or _first(result.resource_ids, "arn:") or "ROLE_NAME"
    params = {
        "RoleName": role_name(str(role_arn)),
        "PolicyName": "vpcguard-sagemaker-vpc-access",
        "PolicyDocument": json.dumps(remediation["suggestion"], separators=(",", ":")),
    }
    return Remedy(
        text=_sentence(str(remediation.get("description") or "Grant the role the actions below.")),
        commands=(cli_command("iam:PutRolePolicy", params),),  # IAM is global: no --region
        action="iam:PutRolePolicy",
    )


def _endpoint_policy(result: CheckResult, remediation: Mapping[str, Any], region: str) -> Remedy:
    endpoint = remediation.get("resource_id") or _first(result.resource_ids, "vpce-") or "VPC_ENDPOINT_ID"
    params = {
        "VpcEndpointId": endpoint,
        "PolicyDocument": json.dumps(remediation["suggestion"], separators=(",", ":")),
    }
    return Remedy(
        text=_sentence(str(remediation.get("description") or f"Replace the policy of {endpoint}.")),
        commands=(cli_command("ec2:ModifyVpcEndpoint", params, region),),
        note="The policy replaces the endpoint's current one: add every bucket the model reads and writes first.",
        action="ec2:ModifyVpcEndpoint",
    )


def _endpoint_statement(result: CheckResult, remediation: Mapping[str, Any], region: str) -> Remedy:
    endpoint = remediation.get("resource_id") or _first(result.resource_ids, "vpce-") or "VPC_ENDPOINT_ID"
    quoted = shlex.quote(str(endpoint))
    return Remedy(
        text=f"Add the statement below to the policy of {endpoint}: save its policy, add the statement, put it back.",
        commands=(
            f"aws ec2 describe-vpc-endpoints --region {shlex.quote(region)} --vpc-endpoint-ids {quoted} "
            "--query 'VpcEndpoints[0].PolicyDocument' --output text > endpoint-policy.json",
            f"aws ec2 modify-vpc-endpoint --region {shlex.quote(region)} --vpc-endpoint-id {quoted} "
            "--policy-document file://endpoint-policy.json",
        ),
        document=_pretty(remediation["suggestion"]),
        action="ec2:ModifyVpcEndpoint",
    )


def _bucket_statement(result: CheckResult, remediation: Mapping[str, Any], region: str) -> Remedy:
    suggestion = remediation["suggestion"]
    resources = suggestion.get("Resource", []) if isinstance(suggestion, Mapping) else []
    buckets = list(
        dict.fromkeys(r.removeprefix("arn:aws:s3:::").split("/")[0] for r in resources if isinstance(r, str))
    ) or ["BUCKET"]
    commands: list[str] = []
    for bucket in buckets:
        b = shlex.quote(bucket)
        commands.append(
            f"aws s3api get-bucket-policy --bucket {b} --query Policy --output text > {b}-policy.json"
        )
        commands.append(f"aws s3api put-bucket-policy --bucket {b} --policy file://{b}-policy.json")
    return Remedy(
        text=_sentence(str(remediation.get("description") or "Add this statement to each bucket's policy."))
        + " For each bucket: save its policy, add the statement, put it back.",
        commands=tuple(commands),
        document=_pretty(suggestion),
        note="A bucket without a policy has nothing to save: start from "
        '{"Version": "2012-10-17", "Statement": []}.',
        action="s3:PutBucketPolicy",
    )


_SUGGESTIONS: dict[str, Callable[[CheckResult, Mapping[str, Any], str], Remedy]] = {
    "execution_role_vpc_permissions": _role_policy,
    "s3_endpoint_policy_restricted": _endpoint_policy,
    "s3_endpoint_denies_package_repos": _endpoint_statement,
    "s3_bucket_policy_vpc_only": _bucket_statement,
}


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def remedy_for(result: CheckResult, region: str) -> Remedy | None:
    """The fix of `result` as text and CLI commands; None when there is nothing to run (a
    PASS, an ERROR, or a finding only a person can judge, such as subnet capacity)."""
    remediation = result.remediation or {}
    action = remediation.get("action")
    params = remediation.get("params")
    description = str(remediation.get("description") or "")
    if result.status in (Status.FIXED, Status.WOULD_FIX) and action and isinstance(params, Mapping):
        command = cli_command(str(action), params, region)
        if result.status == Status.FIXED:
            return Remedy(
                f"vpcguard did this: {description}." if description else "vpcguard fixed this.",
                (command,),
                action=str(action),
                applied=True,
            )
        return Remedy(
            f"vpcguard would {description} (dry run: nothing was changed)."
            if description
            else "vpcguard would fix this (dry run: nothing was changed).",
            (command,),
            action=str(action),
        )
    if result.status not in (Status.FAIL, Status.WOULD_FIX):
        return None
    if remediation.get("suggestion") is not None and result.check_id in _SUGGESTIONS:
        return _SUGGESTIONS[result.check_id](result, remediation, region)
    if action and isinstance(params, Mapping) and action != "suggest":
        return Remedy(
            _sentence(description) if description else f"Run {action}.",
            (cli_command(str(action), params, region),),
            action=str(action),
        )
    builder = _NOTIFY_MODE.get(result.check_id)
    built = builder(result, region) if builder else None
    if built is not None:
        return built
    if remediation.get("suggestion") is not None:
        return Remedy(
            _sentence(description) if description else "Apply the document below.",
            document=_pretty(remediation["suggestion"]),
            action=str(action) if action else None,
        )
    if description:
        return Remedy(_sentence(description), action=str(action) if action and action != "suggest" else None)
    return None
