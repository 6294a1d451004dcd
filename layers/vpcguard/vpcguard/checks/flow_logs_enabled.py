from .. import facts as F
from ..facts import FlowLog, Snapshot
from ..model import Outcome, Severity, failed, passed
from .base import Check, CheckMeta, register


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
