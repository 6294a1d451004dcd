from ..facts import Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register


@register
class NetworkIsolation(Check):
    """FAIL when the model's EnableNetworkIsolation is false (beyond AWS's guidance: the
    container could reach the network on its own). INFORMATIONAL."""

    meta = CheckMeta(
        id="network_isolation",
        title="Model has network isolation enabled",
        severity=Severity.INFORMATIONAL,
        section="beyond the guidance (peers check it)",
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        name = snap.subject.model_name
        if snap.subject.preflight and snap.subject.enable_network_isolation is None:
            # A bare VpcConfig carries no such flag: it is set on CreateModel itself (a
            # CreateModel request given to preflight --from-json says it, and is judged).
            return not_applicable(
                "preflight checks a VpcConfig only; set EnableNetworkIsolation on CreateModel if "
                "the container needs no network access"
            )
        if snap.subject.enable_network_isolation:
            return passed(f"model {name} has EnableNetworkIsolation true", [name])
        # DescribeModel omits EnableNetworkIsolation when it is false, so a missing value
        # (None) means "not enabled", not "unknown".
        return failed(
            f"model {name} does not have network isolation enabled (EnableNetworkIsolation is "
            "false or absent): its containers can make outbound calls through the VPC. Recreate the "
            "model with EnableNetworkIsolation true if the container needs no network access.",
            [name],
        )
