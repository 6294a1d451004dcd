"""The inventory of one run: every read (network.py, policies.py) memoised, and the
snapshot of one subject assembled from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from .. import facts as F
from ..facts import (
    BucketPolicy,
    FlowLog,
    RolePolicies,
    RouteTable,
    SecurityGroup,
    Snapshot,
    Subnet,
    Vpc,
    VpcEndpoint,
)
from ..model import Subject, bucket_of, frozen_map
from .memo import FactError
from .network import VPC_GROUPS, NetworkReads
from .policies import PolicyReads


class Inventory(NetworkReads, PolicyReads):
    """One per run (a CLI scan, a Lambda batch, a backfill): a thousand models in one VPC
    cost one set of VPC reads. Construct it with the run's `AwsClients`."""

    # --- fix-time facts --------------------------------------------------------------

    def with_fix_facts(self, snap: Snapshot, names: Iterable[str]) -> Snapshot:
        """`snap` with the fact groups `names` read in: the fix-time ones (F.VPC_SUBNETS,
        F.GROUP_INTERFACES), and any snapshot group the run did not read (a check selection
        that left out what a selected check's fix needs); one that cannot be read is named
        in `errors`."""
        names = list(dict.fromkeys(names))
        skipped = [name for name in names if name in snap.unread]
        if skipped:
            fresh = self.snapshot(snap.subject, (set(F.ALL_FACTS) - snap.unread) | set(skipped))
            carried = {k: v for k, v in snap.errors.items() if k not in F.ALL_FACTS}
            snap = replace(
                fresh,
                vpc_subnet_ids=snap.vpc_subnet_ids,
                group_interfaces=snap.group_interfaces,
                errors=frozen_map({**fresh.errors, **carried}),
            )
        updates: dict[str, Any] = {}
        errors = dict(snap.errors)
        for name in names:
            try:
                if name == F.VPC_SUBNETS and snap.vpc_id and snap.vpc_subnet_ids is None:
                    updates["vpc_subnet_ids"] = self.vpc_subnet_ids(snap.vpc_id)
                elif name == F.GROUP_INTERFACES and snap.group_interfaces is None and snap.security_groups:
                    updates["group_interfaces"] = self.group_interfaces(snap.security_groups)
            except FactError as exc:
                errors[name] = exc.reason
        if not updates and errors == dict(snap.errors):
            return snap
        return replace(snap, **updates, errors=frozen_map(errors))

    # --- the snapshot ----------------------------------------------------------------

    def snapshot(self, subject: Subject, facts: Iterable[str] | None = None) -> Snapshot:
        """One subject's facts: the groups `facts` names (the `requires` of the checks to be
        evaluated; None: every group) plus what identifies the subject (facts.groups_to_read).
        A group not read costs no call and is named in `unread`, and in `errors` with
        NOT_READ. Never raises for an AWS error: what could not be read is named in `errors`
        under its fact group."""
        read = F.groups_to_read(facts)
        unread = frozenset(F.ALL_FACTS) - read
        errors: dict[str, str] = dict.fromkeys(sorted(unread), F.NOT_READ)
        base: dict[str, Any] = {"subject": subject, "region": self.region, "unread": unread}
        if subject.vpc_config is None:
            return Snapshot(**base, errors=frozen_map(errors))
        config = subject.vpc_config

        # Subnets (and through them, the VPC).
        subnets: dict[str, Subnet] = {}
        missing_subnets: list[str] = []
        try:
            for sid, subnet in self.subnets(config.subnet_ids).items():
                if subnet is None:
                    missing_subnets.append(sid)
                else:
                    subnets[sid] = subnet
        except FactError as exc:
            errors[F.SUBNETS] = exc.reason

        vpc_ids = [s.vpc_id for s in subnets.values()]
        outside: dict[str, SecurityGroup | None] = {}
        if not vpc_ids and config.security_group_ids:
            # No subnet could be read: the groups still tell which VPC was meant.
            try:
                outside = self.groups_outside_vpc(config.security_group_ids)
                vpc_ids = [g.vpc_id for g in outside.values() if g is not None]
            except FactError as exc:
                errors.setdefault(F.SECURITY_GROUPS, exc.reason)
        # The VPC most of the model's subnets are in (they should all be in one).
        vpc_id = max(dict.fromkeys(vpc_ids), key=vpc_ids.count) if vpc_ids else None

        if vpc_id is None:
            reason = "no subnet or security group of the model exists, so there is no VPC to inspect"
            for name in (F.VPC, F.DNS_SUPPORT, F.ROUTE_TABLES, F.ENDPOINTS, F.FLOW_LOGS, F.PREFIX_LIST):
                errors.setdefault(name, reason)
            if not outside:
                errors.setdefault(F.SECURITY_GROUPS, reason)
            found_groups = {gid: g for gid, g in outside.items() if g is not None}
            return Snapshot(
                **base,
                subnets=frozen_map(subnets),
                missing_subnet_ids=tuple(missing_subnets),
                security_groups=frozen_map(found_groups),
                missing_security_group_ids=tuple(gid for gid, g in outside.items() if g is None),
                role=self._role_fact(subject, read, errors),
                bucket_policies=self._bucket_fact(subject, read, errors),
                errors=frozen_map(errors),
            )

        vf = self.vpc_facts(vpc_id, read.intersection(VPC_GROUPS))
        errors.update({k: v for k, v in vf.errors.items() if k not in errors})

        # Security groups: the VPC's own, plus a lookup for any named group outside it.
        groups: dict[str, SecurityGroup] = {}
        missing_groups: list[str] = []
        if isinstance(vf.security_groups, Mapping):
            not_in_vpc = [g for g in config.security_group_ids if g not in vf.security_groups]
            for gid in config.security_group_ids:
                if gid in vf.security_groups:
                    groups[gid] = vf.security_groups[gid]
            if not_in_vpc:
                try:
                    looked = outside or self.groups_outside_vpc(not_in_vpc)
                    for gid in not_in_vpc:
                        g = looked.get(gid)
                        if g is None:
                            missing_groups.append(gid)
                        else:
                            groups[gid] = g
                except FactError as exc:
                    errors[F.SECURITY_GROUPS] = exc.reason

        route_tables = vf.route_tables if isinstance(vf.route_tables, tuple) else ()
        endpoints = vf.endpoints if isinstance(vf.endpoints, tuple) else ()

        flow_logs: tuple[FlowLog, ...] = ()
        try:
            covered = {vpc_id, *subnets}
            if F.FLOW_LOGS in read:
                flow_logs = tuple(f for f in self.flow_logs() if f.resource_id in covered)
        except FactError as exc:
            errors[F.FLOW_LOGS] = exc.reason

        prefix_list_id: str | None = None
        if F.PREFIX_LIST in read:  # else NOT_READ
            if F.ROUTE_TABLES not in errors and F.ENDPOINTS not in errors:
                try:
                    prefix_list_id = self._prefix_list_if_needed(route_tables, endpoints, groups.values())
                except FactError as exc:
                    errors[F.PREFIX_LIST] = exc.reason
            else:
                errors[F.PREFIX_LIST] = errors.get(F.ROUTE_TABLES) or errors[F.ENDPOINTS]

        return Snapshot(
            **base,
            vpc_id=vpc_id,
            vpc=vf.vpc if isinstance(vf.vpc, Vpc) else None,
            dns_support=vf.dns_support if isinstance(vf.dns_support, bool) else None,
            subnets=frozen_map(subnets),
            missing_subnet_ids=tuple(missing_subnets),
            security_groups=frozen_map(groups),
            missing_security_group_ids=tuple(missing_groups),
            route_tables=route_tables,
            endpoints=endpoints,
            flow_logs=flow_logs,
            s3_prefix_list_id=prefix_list_id,
            role=self._role_fact(subject, read, errors),
            bucket_policies=self._bucket_fact(subject, read, errors),
            errors=frozen_map(errors),
        )

    def _prefix_list_if_needed(
        self,
        route_tables: tuple[RouteTable, ...],
        endpoints: tuple[VpcEndpoint, ...],
        groups: Iterable[SecurityGroup],
    ) -> str | None:
        """The S3 prefix list id costs no call when an S3 gateway endpoint's route names
        it; otherwise it is looked up only when some egress rule names a prefix list."""
        found = self._prefix_from_routes(route_tables, endpoints)
        if found:
            return found
        if any(p.prefix_list_ids for g in groups for p in g.egress):
            return self.lookup_s3_prefix_list_id()
        return None

    def _prefix_from_routes(
        self, route_tables: tuple[RouteTable, ...], endpoints: tuple[VpcEndpoint, ...]
    ) -> str | None:
        s3_name = f"com.amazonaws.{self.region}.s3"
        gateways = {e.id for e in endpoints if e.service_name == s3_name}
        for table in route_tables:
            for route in table.routes:
                if route.gateway_id in gateways and route.destination_prefix_list_id:
                    return route.destination_prefix_list_id
        return None

    def _role_fact(
        self, subject: Subject, read: frozenset[str], errors: dict[str, str]
    ) -> RolePolicies | None:
        if F.ROLE not in read:
            return None  # NOT_READ
        if not subject.execution_role_arn:
            errors[F.ROLE] = (
                "no --role-arn given to preflight, so the execution role was not checked"
                if subject.preflight
                else "the model names no execution role"
            )
            return None
        try:
            return self.role(subject.execution_role_arn)
        except FactError as exc:
            errors[F.ROLE] = f"cannot read role {subject.execution_role_arn}: {exc.reason}"
            return None

    def _bucket_fact(
        self, subject: Subject, read: frozenset[str], errors: dict[str, str]
    ) -> Mapping[str, BucketPolicy]:
        if F.BUCKET_POLICIES not in read:
            return frozen_map({})  # NOT_READ
        buckets = [b for b in (bucket_of(u) for u in (*subject.input_s3_uris, *subject.output_s3_uris)) if b]
        out: dict[str, BucketPolicy] = {}
        problems = []
        for bucket in dict.fromkeys(buckets):
            try:
                out[bucket] = self.bucket_policy(bucket)
            except FactError as exc:
                problems.append(exc.reason)
        if problems:
            errors[F.BUCKET_POLICIES] = "; ".join(problems)
        return frozen_map(out)


def _policy_document(iam: Any, role_name: str, policy_name: str) -> Any:
    return iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
