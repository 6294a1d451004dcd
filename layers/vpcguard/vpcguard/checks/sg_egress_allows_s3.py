import ipaddress

from .. import facts as F
from ..facts import Permission, SecurityGroup, Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register

HTTPS_PORT = 443


def _allows_tcp_443(rule: Permission) -> bool:
    if rule.all_protocols:
        return True
    if rule.protocol.lower() not in ("tcp", "6"):  # the API may give the number
        return False
    if rule.from_port is None or rule.to_port is None:
        return True
    return rule.from_port <= HTTPS_PORT <= rule.to_port


def _covers_s3(cidr: str) -> bool:
    """Only an IPv4 /0 counts as covering S3. S3's public addresses are many prefixes that
    AWS changes over time (ip-ranges.json), and a check does no I/O to read them, so no
    narrower CIDR can be shown to reach every S3 address. IPv6 ::/0 does not count either:
    the standard S3 hostnames the job uses resolve to IPv4 addresses only."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return network.version == 4 and network.prefixlen == 0


def _covers_all(cidr: str, subnet_cidrs: list[str]) -> bool:
    """True when the CIDR contains every one of the model's subnets (so every instance)."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        subnets = [ipaddress.ip_network(c, strict=False) for c in subnet_cidrs]
    except ValueError:
        return False
    return bool(subnets) and all(
        s.version == network.version and s.subnet_of(network)  # type: ignore[arg-type]
        for s in subnets
    )


@register
class SgEgressAllowsS3(Check):
    """FAIL when the model's security groups, taken together, do not allow outbound TCP 443
    (or all traffic) to the S3 prefix list or to a CIDR that covers S3 (such as 0.0.0.0/0);
    or, for a job with more than one instance, do not allow outbound traffic to the groups
    themselves."""

    meta = CheckMeta(
        id="sg_egress_allows_s3",
        title="Security groups allow HTTPS egress to S3 (and to each other for multi-instance jobs)",
        severity=Severity.HIGH,
        section='"Configure the VPC Security Group"; "Create an Amazon S3 VPC Endpoint"',
        requires=(F.SECURITY_GROUPS, F.PREFIX_LIST),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        groups = sorted(snap.security_groups.values(), key=lambda g: g.id)
        if not groups:
            return not_applicable("none of the model's security groups exists (see vpc_config_consistent)")
        ids = [g.id for g in groups]
        problems: list[str] = []
        found: list[str] = []

        s3_rule = self._s3_rule(snap, groups)
        if s3_rule:
            found.append(s3_rule)
        else:
            target = (
                f"the S3 prefix list {snap.s3_prefix_list_id}"
                if snap.s3_prefix_list_id
                else "the S3 prefix list"
            )
            problems.append(
                f"no egress rule of {', '.join(ids)} allows TCP {HTTPS_PORT} to {target} or to "
                "0.0.0.0/0, so the job cannot reach S3 for its data: add an outbound rule for TCP "
                f"{HTTPS_PORT} to {target}"
            )

        if snap.subject.instance_count > 1:
            peer_rule, partial = self._peer_rule(snap, groups)
            if peer_rule:
                found.append(peer_rule)
            else:
                limited = f" (only limited rules: {'; '.join(partial)})" if partial else ""
                problems.append(
                    f"the job runs {snap.subject.instance_count} instances but no egress rule allows "
                    f"all traffic to the model's security groups{limited}: add an outbound rule for "
                    "all traffic to the group itself"
                )

        if problems:
            return failed("; ".join(problems) + ".", ids)
        return passed("; ".join(found), ids)

    @staticmethod
    def _s3_rule(snap: Snapshot, groups: list[SecurityGroup]) -> str | None:
        for group in groups:
            for rule in group.egress:
                if not _allows_tcp_443(rule):
                    continue
                if snap.s3_prefix_list_id and snap.s3_prefix_list_id in rule.prefix_list_ids:
                    return f"{group.id} allows {rule.describe()} (the S3 prefix list)"
                wide = [c for c in rule.cidrs if _covers_s3(c)]
                if wide:
                    return f"{group.id} allows {rule.describe()} (covers S3)"
        return None

    @staticmethod
    def _peer_rule(snap: Snapshot, groups: list[SecurityGroup]) -> tuple[str | None, list[str]]:
        """An all-protocol egress rule to a group of the model, or to a CIDR that holds
        every model subnet (0.0.0.0/0, the VPC's CIDR, ...)."""
        model_group_ids = {g.id for g in groups}
        subnet_cidrs = [s.cidr for s in snap.subnets.values() if s.cidr]
        partial: list[str] = []
        for group in groups:
            for rule in group.egress:
                to_peers = bool(model_group_ids.intersection(rule.group_ids)) or any(
                    _covers_all(c, subnet_cidrs) for c in (*rule.cidrs, *rule.ipv6_cidrs)
                )
                if not to_peers:
                    continue
                if rule.all_protocols:
                    return f"{group.id} allows egress {rule.describe()} (the job's instances)", partial
                partial.append(f"{group.id} allows only {rule.describe()}")
        return None, partial
