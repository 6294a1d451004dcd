from typing import Any

from botocore.exceptions import ClientError

from .. import facts as F
from ..aws import AwsClients, error_code
from ..facts import FlowLog, Snapshot
from ..fixes import FixPlan, NoSafeFix
from ..model import Outcome, Severity, failed, passed
from ..settings import Settings
from ._fixing import tag_specifications, write_refused
from .base import Check, CheckMeta, register

ALREADY_EXISTS = "FlowLogAlreadyExists"
NO_DESTINATION = (
    "no flow-log destination configured: set VPCGUARD_FLOW_LOGS_LOG_GROUP and VPCGUARD_FLOW_LOGS_ROLE_ARN "
    "(CloudWatch Logs) or VPCGUARD_FLOW_LOGS_S3_ARN (S3)"
)


def destination_params(settings: Settings) -> dict[str, Any]:
    """CreateFlowLogs destination parameters from the settings. An S3 ARN wins when set:
    the stack documents it as "instead of the stack's log group", which it always has."""
    if settings.flow_logs_s3_arn:
        return {"LogDestinationType": "s3", "LogDestination": settings.flow_logs_s3_arn}
    if settings.flow_logs_log_group and settings.flow_logs_role_arn:
        return {
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": settings.flow_logs_log_group,
            "DeliverLogsPermissionArn": settings.flow_logs_role_arn,
        }
    if settings.flow_logs_log_group:
        raise NoSafeFix(
            "VPCGUARD_FLOW_LOGS_LOG_GROUP is set but VPCGUARD_FLOW_LOGS_ROLE_ARN is not: CloudWatch Logs "
            "delivery needs a role that vpc-flow-logs.amazonaws.com can assume"
        )
    raise NoSafeFix(NO_DESTINATION)


def flow_log_as_api(log: FlowLog) -> dict[str, Any]:
    """A snapshot flow log in describe_flow_logs' shape (for "before")."""
    return {
        "FlowLogId": log.id,
        "ResourceId": log.resource_id,
        "TrafficType": log.traffic_type,
        "FlowLogStatus": log.status,
        "DeliverLogsStatus": log.deliver_status,
        "DeliverLogsErrorMessage": log.deliver_error,
        "LogDestinationType": log.destination_type,
        "LogDestination": log.destination,
    }


def _same_destination(read: dict[str, Any], destination: dict[str, Any]) -> bool:
    if destination["LogDestinationType"] == "s3":
        return read.get("LogDestination") == destination["LogDestination"]
    return read.get("LogGroupName") == destination["LogGroupName"] or str(
        read.get("LogDestination", "")
    ).endswith(f":log-group:{destination['LogGroupName']}")


def why_not_counted(log: FlowLog) -> str | None:
    """Why a flow log does not count as logging all traffic; None when it counts."""
    reasons = []
    if log.traffic_type.upper() != "ALL":
        reasons.append(f"logs only {log.traffic_type.upper() or 'unknown'} traffic, not ALL")
    if log.status.upper() != "ACTIVE":
        reasons.append(f"is {log.status or 'in an unknown status'}, not ACTIVE")
    if log.deliver_status.upper() == "FAILED":
        error = f": {log.deliver_error}" if log.deliver_error else ""
        reasons.append(f"failed delivery to {log.destination or 'its destination'}{error}")
    return " and ".join(reasons) or None


@register
class FlowLogsEnabled(Check):
    """FAIL when no ACTIVE flow log recording ALL traffic covers the VPC (or every model
    subnet). A flow log whose delivery failed, or that records only ACCEPT or REJECT, does
    not count, and the result says which. Fix: a flow log for the VPC, traffic ALL, to the
    configured CloudWatch Logs group or S3 bucket."""

    meta = CheckMeta(
        id="flow_logs_enabled",
        title="VPC flow logs record all traffic",
        severity=Severity.MEDIUM,
        section='Introduction ("VPC Flow Logs": all traffic)',
        requires=(F.FLOW_LOGS,),
        fix_default="fix",  # CreateFlowLogs for the VPC, traffic ALL, to the configured destination
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        logs = sorted(snap.flow_logs, key=lambda f: f.id)
        counted = [f for f in logs if why_not_counted(f) is None]
        on_vpc = [f for f in counted if f.resource_id == snap.vpc_id]
        if on_vpc:
            return passed(
                f"flow log {on_vpc[0].id} records ALL traffic of {snap.vpc_id} (ACTIVE, delivery "
                f"{on_vpc[0].deliver_status or 'not reported'})",
                [snap.vpc_id or "", on_vpc[0].id],
            )
        subnet_ids = sorted(snap.subnets)
        covered = {f.resource_id: f.id for f in counted}
        uncovered = [sid for sid in subnet_ids if sid not in covered]
        if subnet_ids and not uncovered:
            listing = ", ".join(f"{sid} ({covered[sid]})" for sid in subnet_ids)
            return passed(f"every model subnet has a flow log recording ALL traffic: {listing}", subnet_ids)

        rejected = [f"{f.id} on {f.resource_id} {why_not_counted(f)}" for f in logs if f not in counted]
        detail = f"no active flow log recording ALL traffic covers {snap.vpc_id} or every model subnet"
        if uncovered and len(uncovered) < len(subnet_ids):
            detail += f" (subnet(s) {', '.join(uncovered)} have none; the others do)"
        if rejected:
            detail += f". Not counted: {'; '.join(rejected)}"
        detail += ". Create a flow log for the VPC with traffic type ALL to a working destination."
        return failed(detail, [r for r in [snap.vpc_id, *uncovered] if r])

    def plan_fix(self, snap: Snapshot, outcome: Outcome, settings: Settings) -> FixPlan:
        vpc_id = snap.vpc_id
        if not vpc_id:
            raise NoSafeFix("the VPC is not known")
        destination = destination_params(settings)
        where = destination.get("LogDestination") or destination["LogGroupName"]
        params = {
            "ResourceIds": [vpc_id],
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            **destination,
            "TagSpecifications": tag_specifications("vpc-flow-log", self.meta.id),
        }

        def apply(clients: AwsClients) -> dict[str, Any]:
            ec2 = clients.client("ec2")
            already_present = False
            try:
                resp = ec2.create_flow_logs(**params)
            except ClientError as exc:
                if error_code(exc) != ALREADY_EXISTS:
                    raise
                already_present = True  # this VPC already logs to this destination
            else:
                # CreateFlowLogs reports a per-resource failure in Unsuccessful, not as an error.
                for failure in resp.get("Unsuccessful", []):
                    error = failure.get("Error", {})
                    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
                    if ALREADY_EXISTS in code or ALREADY_EXISTS in message:
                        already_present = True
                        continue
                    raise write_refused("CreateFlowLogs", code or "Unsuccessful", message)
            # Read it back: the engine's re-check judges its delivery status, this is the record.
            logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
            mine = [f for f in logs if _same_destination(f, destination)]
            after: dict[str, Any] = {
                "FlowLogs": [
                    {
                        key: f.get(key)
                        for key in (
                            "FlowLogId",
                            "ResourceId",
                            "TrafficType",
                            "FlowLogStatus",
                            "DeliverLogsStatus",
                            "DeliverLogsErrorMessage",
                            "LogDestinationType",
                            "LogDestination",
                            "LogGroupName",
                        )
                        if f.get(key) is not None
                    }
                    for f in mine
                ]
            }
            if already_present:
                after["already_present"] = True
            return after

        return FixPlan(
            check_id=self.meta.id,
            action="ec2:CreateFlowLogs",
            resource_id=vpc_id,
            params=params,
            description=(
                f"create a flow log for {vpc_id}, traffic type ALL, delivered to "
                f"{'S3 ' if destination['LogDestinationType'] == 's3' else 'CloudWatch Logs group '}{where}"
            ),
            apply=apply,
            before={"FlowLogs": [flow_log_as_api(f) for f in sorted(snap.flow_logs, key=lambda f: f.id)]},
            touches=(vpc_id,),
        )
