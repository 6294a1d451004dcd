"""`vpcguard scan --affected-by RESOURCE`: the subjects that depend on one resource.

With the dependency index (`--index-table`): one Query, then each dependent subject is
evaluated. Without it: the region's models (and, with `--jobs`, transform jobs) are listed
and described once each, as a backfill does (tags in bulk), and filtered by what they
depend on. A security group, subnet, role, bucket or KMS key is matched on the subject's
own description, at no further cost; a VPC, route table, association, endpoint or flow log
needs the subjects' VPC facts, read once per VPC (the evaluation reuses them).

A subject that could not be read cannot be ruled out: it is returned too, and its report is
an ERROR naming why, never a silent omission.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..facts import Snapshot
from ..inventory import FactError, Inventory
from ..model import Subject, frozen_map
from ..subjects import SubjectResolver
from .index import DependencyIndex, IndexedSubject
from .resources import VPC_LEVEL_PREFIXES, dependencies, subject_dependencies

if TYPE_CHECKING:
    from ..aws import AwsClients
    from ..backfill import JobScope

SUBNET_BATCH = 100


@dataclass(frozen=True)
class Dependents:
    """The subjects to evaluate, with the resolver and inventory that read them (so the
    evaluation reads nothing twice)."""

    subjects: tuple[Subject, ...]
    resolver: SubjectResolver
    inventory: Inventory
    examined: int  # subjects whose dependencies were looked at


def from_index(index: DependencyIndex, key: str, *, jobs: JobScope) -> list[IndexedSubject]:
    """The indexed subjects that depend on `key`: models, and transform jobs unless `jobs`
    is "none" (the index holds jobs evaluated while they ran)."""
    found = index.affected(key)
    return [s for s in found if s.type == "model" or jobs != "none"]


def network_dependencies(inventory: Inventory, subject: Subject) -> frozenset[str]:
    """What the subject depends on, reading only its network (not its role or buckets)."""
    config = subject.vpc_config
    if config is None:
        return frozenset(subject_dependencies(subject))
    subnets = {sid: s for sid, s in inventory.subnets(config.subnet_ids).items() if s is not None}
    vpc_ids = [s.vpc_id for s in subnets.values()]
    if not vpc_ids:
        return frozenset(subject_dependencies(subject))
    vpc_id = max(dict.fromkeys(vpc_ids), key=vpc_ids.count)
    facts = inventory.vpc_facts(vpc_id)
    try:
        flow_logs = tuple(f for f in inventory.flow_logs() if f.resource_id in {vpc_id, *subnets})
    except FactError:
        flow_logs = ()
    snapshot = Snapshot(
        subject=subject,
        region=inventory.region,
        vpc_id=vpc_id,
        subnets=frozen_map(subnets),
        route_tables=facts.route_tables if isinstance(facts.route_tables, tuple) else (),
        endpoints=facts.endpoints if isinstance(facts.endpoints, tuple) else (),
        flow_logs=flow_logs,
    )
    return dependencies(snapshot)


def _prefetch_subnets(inventory: Inventory, subjects: Iterable[Subject]) -> None:
    ids = list(dict.fromkeys(s for subj in subjects if subj.vpc_config for s in subj.vpc_config.subnet_ids))
    for start in range(0, len(ids), SUBNET_BATCH):
        with suppress(FactError):  # the evaluation meets the same error and names it
            inventory.subnets(ids[start : start + SUBNET_BATCH])


def by_listing(clients: AwsClients, key: str, *, jobs: JobScope) -> Dependents:
    """List and describe the region's subjects, keep the ones that depend on `key` (and the
    ones that could not be read)."""
    from ..backfill import _tag_index_or_none, list_subjects

    listing = list_subjects(clients, jobs=jobs)
    resolver = SubjectResolver(clients, tag_index=_tag_index_or_none(clients))
    inventory = Inventory(clients)
    subjects = [resolver.model(name) for name in listing.models]
    subjects += [resolver.transform_job(name) for name in listing.transform_jobs]
    network = key.startswith(VPC_LEVEL_PREFIXES)
    if network:
        _prefetch_subnets(inventory, (s for s in subjects if not s.error))
    kept = []
    for subject in subjects:
        if subject.error:
            kept.append(subject)
            continue
        try:
            deps = network_dependencies(inventory, subject) if network else subject_dependencies(subject)
        except FactError:
            kept.append(subject)  # its network could not be read: the evaluation says why
            continue
        if key in deps:
            kept.append(subject)
    return Dependents(subjects=tuple(kept), resolver=resolver, inventory=inventory, examined=len(subjects))
