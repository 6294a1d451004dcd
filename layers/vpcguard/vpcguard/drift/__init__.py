"""Drift: a setup that passed keeps passing.

A change to a resource a subject depends on (a revoked self rule, a re-associated route
table, a deleted endpoint, a new bucket policy, a detached role policy) re-evaluates every
subject that depends on it, through the same inspect path as a new model.

- `resources`: the canonical key of a resource, and a subject's dependencies read from
  its Snapshot (no AWS calls);
- `changes`: a CloudTrail change event (EC2, S3, IAM) -> `ChangeEvent` (what changed, who);
- `index`: the DynamoDB dependency index, written at every evaluation and queried by
  resource id;
- `coalesce`: one re-evaluation per affected subject and window (SQS FIFO deduplication
  on a delayed queue), not one per change;
- `affected`: `vpcguard scan --affected-by`, with or without the index.
"""
