"""IAM and S3 reads: an execution role's policies and the buckets' policies, once per run."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsClients, describe_error, error_code, raise_if_setup_error
from ..facts import BucketPolicy, RolePolicies
from ..model import frozen_map
from . import parse
from .calls import Reader
from .memo import FactError, Memo


class PolicyReads(Reader):
    def __init__(self, clients: AwsClients):
        super().__init__(clients)
        self._roles = Memo()  # role arn -> RolePolicies
        self._managed = Memo()  # policy arn -> document
        self._buckets = Memo()  # bucket -> BucketPolicy

    def role(self, role_arn: str) -> RolePolicies:
        return self._roles.get(role_arn, lambda: self._load_role(role_arn))

    def _load_role(self, role_arn: str) -> RolePolicies:
        iam = self.clients.client("iam")
        name = role_arn.rsplit("/", 1)[-1]
        role = self._call("iam:GetRole", lambda: iam.get_role(RoleName=name)["Role"])
        inline_names = self._paginate(
            "iam", "list_role_policies", "iam:ListRolePolicies", "PolicyNames", RoleName=name
        )
        inline = {
            pname: parse.policy(
                self._call(
                    "iam:GetRolePolicy",
                    partial(_policy_document, iam, name, pname),
                )
            )
            for pname in inline_names
        }
        attached_arns = [
            p["PolicyArn"]
            for p in self._paginate(
                "iam",
                "list_attached_role_policies",
                "iam:ListAttachedRolePolicies",
                "AttachedPolicies",
                RoleName=name,
            )
        ]
        attached = {arn: self.managed_policy(arn) for arn in attached_arns}
        boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return RolePolicies(
            arn=role.get("Arn", role_arn),
            name=name,
            inline=frozen_map({k: v or {} for k, v in inline.items()}),
            attached=frozen_map(attached),
            boundary_arn=boundary_arn,
            boundary=self.managed_policy(boundary_arn) if boundary_arn else None,
        )

    def managed_policy(self, policy_arn: str) -> Mapping[str, Any]:
        """A managed policy's default version, read once per policy per run."""

        def load() -> Mapping[str, Any]:
            iam = self.clients.client("iam")
            policy = self._call("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=policy_arn)["Policy"])
            version = self._call(
                "iam:GetPolicyVersion",
                lambda: iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])[
                    "PolicyVersion"
                ],
            )
            return parse.policy(version.get("Document")) or {}

        return self._managed.get(policy_arn, load)

    def bucket_policy(self, bucket: str) -> BucketPolicy:
        def load() -> BucketPolicy:
            try:
                text = self.clients.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
            except ClientError as exc:
                if error_code(exc) == "NoSuchBucketPolicy":
                    return BucketPolicy(bucket=bucket, policy=None)
                if error_code(exc) == "NoSuchBucket":
                    raise FactError(f"bucket {bucket} does not exist") from exc
                raise_if_setup_error(exc)
                raise FactError(describe_error(exc, "s3:GetBucketPolicy")) from exc
            except BotoCoreError as exc:
                raise_if_setup_error(exc)
                raise FactError(describe_error(exc, "s3:GetBucketPolicy")) from exc
            return BucketPolicy(bucket=bucket, policy=parse.policy(text))

        return self._buckets.get(bucket, load)


def _policy_document(iam: Any, role_name: str, policy_name: str) -> Any:
    return iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
