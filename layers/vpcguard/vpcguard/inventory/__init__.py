"""Reads the facts checks need, once per VPC / role / bucket per run, into snapshots.

One `Inventory` lives for one run (a CLI scan, a Lambda batch, a backfill). Every read is
memoised, so a thousand models in one VPC cost one set of VPC reads. A read that fails is
remembered as the reason, and the snapshot names it in `errors` for the fact group.

- `memo.py`: the thread-safe per-run memo, and `FactError` (a read that failed, with why);
- `calls.py`: how a read calls AWS (an AWS error becomes a FactError naming the action);
- `parse.py`: API responses into facts (pure);
- `network.py`: the EC2 reads (subnets and groups by id, per VPC, region-wide, fix time);
- `policies.py`: the IAM and S3 reads (the execution role, managed policies, bucket policies);
- `snapshot.py`: `Inventory`, which assembles one subject's `Snapshot` from those reads.
"""

from ..model import bucket_of
from .memo import FactError
from .network import VpcFacts
from .snapshot import Inventory

__all__ = ["FactError", "Inventory", "VpcFacts", "bucket_of"]
