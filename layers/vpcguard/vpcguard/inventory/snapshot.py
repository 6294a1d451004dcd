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
from .network import NetworkReads
from .policies import PolicyReads


class Inventory(NetworkReads, PolicyReads):
    """One per run (a CLI scan, a Lambda batch, a backfill): a thousand models in one VPC
    cost one set of VPC reads. Construct it with the run's `AwsClients`."""

    # --- fix-time facts --------------------------------------------------------------

    def with_fix_facts(self, snap: Snapshot, names: Iterable[str]) -> Snapshot:
        """`snap` with the fix-time fact groups `names` read in (F.VPC_SUBNETS,
        F.GROUP_INTERFACES); one that cannot be read is named in `errors`."""
        updates: dict[str, Any] = {}
        errors = dict(snap.errors)
        for name in dict.fromkeys(names):
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

    def snapshot(self, subject: Subject) -> Snapshot:
        """All facts for one subject. Never raises for an AWS error: what could not be
        read is named in `errors` under its fact group."""
        errors: dict[str, str] = {}
        base: dict[str, Any] = {"subject": subject, "region": self.region}
        if subject.vpc_config is None:
            return Snapshot(**base)
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
                role=self._role_fact(subject, errors),
                bucket_policies=self._bucket_fact(subject, errors),
                errors=frozen_map(errors),
            )

        vf = self.vpc_facts(vpc_id)
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
            flow_logs = tuple(f for f in self.flow_logs() if f.resource_id in covered)
        except FactError as exc:
            errors[F.FLOW_LOGS] = exc.reason

        prefix_list_id: str | None = None
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
            role=self._role_fact(subject, errors),
            bucket_policies=self._bucket_fact(subject, errors),
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

    def _role_fact(self, subject: Subject, errors: dict[str, str]) -> RolePolicies | None:
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

    def _bucket_fact(self, subject: Subject, errors: dict[str, str]) -> Mapping[str, BucketPolicy]:
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
