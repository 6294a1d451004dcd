"""Resolve what is evaluated: a model, a transform job (through its model), or a bare
VpcConfig for preflight."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients, describe_error, error_code, raise_if_setup_error
from .model import Subject, VpcConfig, frozen_map

NOT_FOUND_CODES = {"ValidationException", "ResourceNotFound", "ResourceNotFoundException"}


def name_from_arn(name_or_arn: str) -> str:
    """`arn:aws:sagemaker:r:a:model/name` -> `name`; a plain name is returned as is."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":", 5)[5].split("/", 1)[-1]
    return name_or_arn


def account_from_arn(arn: str | None) -> str:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 4 else ""


def _is_not_found(exc: ClientError) -> bool:
    message = exc.response.get("Error", {}).get("Message", "")
    return error_code(exc) in NOT_FOUND_CODES and (
        "not find" in message.lower() or "not found" in message.lower() or "does not exist" in message
    )


class SubjectResolver:
    """Reads models and jobs from SageMaker; every model is described once per run."""

    def __init__(self, clients: AwsClients, tag_index: Mapping[str, Mapping[str, str]] | None = None):
        self.clients = clients
        self.region = clients.region
        # model ARN -> tags, filled in bulk by a backfill (Resource Groups Tagging API) so
        # that no per-model ListTags is needed. Models absent from the index have no tags.
        self.tag_index = tag_index
        self._models: dict[str, dict[str, Any] | ClientError | BotoCoreError] = {}

    # --- SageMaker reads -------------------------------------------------------------

    def describe_model(self, name: str) -> dict[str, Any]:
        cached = self._models.get(name)
        if cached is None:
            try:
                cached = self.clients.client("sagemaker").describe_model(ModelName=name)
            except (ClientError, BotoCoreError) as exc:
                raise_if_setup_error(exc)
                cached = exc
            self._models[name] = cached
        if isinstance(cached, Exception):
            raise cached
        return cached

    def forget_model(self, name: str) -> None:
        """Drop a model's description (and its entry in the bulk tag index) once no subject
        of the run needs it: a backfill streaming its reports holds no more than it must."""
        cached = self._models.pop(name, None)
        if self.tag_index is not None and isinstance(cached, dict) and isinstance(self.tag_index, dict):
            self.tag_index.pop(cached.get("ModelArn", ""), None)

    def model_tags(self, model_arn: str) -> dict[str, str]:
        if self.tag_index is not None:
            return dict(self.tag_index.get(model_arn, {}))
        tags: dict[str, str] = {}
        client = self.clients.client("sagemaker")
        kwargs: dict[str, Any] = {"ResourceArn": model_arn}
        while True:
            page = client.list_tags(**kwargs)
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
            if not page.get("NextToken"):
                return tags
            kwargs["NextToken"] = page["NextToken"]

    # --- subjects --------------------------------------------------------------------

    def model(self, name_or_arn: str) -> Subject:
        name = name_from_arn(name_or_arn)
        try:
            desc = self.describe_model(name)
        except (ClientError, BotoCoreError) as exc:
            return self._unresolved("model", name, name_or_arn, exc)
        return self.model_from_description(desc)

    def model_from_description(
        self, desc: Mapping[str, Any], tags: Mapping[str, str] | None = None
    ) -> Subject:
        arn = desc["ModelArn"]
        vpc = desc.get("VpcConfig") or None
        base = dict(
            type="model",
            name=desc["ModelName"],
            arn=arn,
            region=self.region,
            account=account_from_arn(arn),
            model_name=desc["ModelName"],
            instance_count=1,
            vpc_config=VpcConfig(tuple(vpc.get("Subnets", [])), tuple(vpc.get("SecurityGroupIds", [])))
            if vpc
            else None,
            execution_role_arn=desc.get("ExecutionRoleArn"),
            enable_network_isolation=desc.get("EnableNetworkIsolation"),
        )
        try:
            tag_map = dict(tags) if tags is not None else self.model_tags(arn)
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            return Subject(
                **base, error=f"cannot read the model's tags: {describe_error(exc, 'sagemaker:ListTags')}"
            )
        return Subject(**base, tags=frozen_map(tag_map))

    def transform_job(self, name_or_arn: str) -> Subject:
        name = name_from_arn(name_or_arn)
        try:
            job = self.clients.client("sagemaker").describe_transform_job(TransformJobName=name)
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            return self._unresolved("transform_job", name, name_or_arn, exc)
        return self.transform_job_from_description(job)

    def transform_job_from_description(self, job: Mapping[str, Any]) -> Subject:
        model_name = job["ModelName"]
        resources = job.get("TransformResources") or {}
        source = ((job.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
        output = job.get("TransformOutput") or {}
        kms = tuple(k for k in (output.get("KmsKeyId"), resources.get("VolumeKmsKeyId")) if k)
        job_fields = dict(
            type="transform_job",
            name=job["TransformJobName"],
            arn=job["TransformJobArn"],
            region=self.region,
            account=account_from_arn(job["TransformJobArn"]),
            instance_count=int(resources.get("InstanceCount") or 1),
            input_s3_uris=tuple(u for u in [source.get("S3Uri")] if u),
            output_s3_uris=tuple(u for u in [output.get("S3OutputPath")] if u),
            kms_key_ids=kms,
        )
        model = self.model(model_name)
        if model.error:
            return Subject(
                **job_fields,
                model_name=model_name,
                error=f"the job's model could not be read: {model.error}",
            )
        return Subject(
            **job_fields,
            model_name=model.model_name,
            vpc_config=model.vpc_config,
            execution_role_arn=model.execution_role_arn,
            enable_network_isolation=model.enable_network_isolation,
            tags=model.tags,
        )

    def preflight(
        self,
        subnet_ids: Iterable[str],
        security_group_ids: Iterable[str],
        instance_count: int = 1,
        role_arn: str | None = None,
        kms_key_ids: Iterable[str] = (),
        input_s3_uris: Iterable[str] = (),
        output_s3_uris: Iterable[str] = (),
        account: str = "",
        enable_network_isolation: bool | None = None,
        name: str | None = None,
    ) -> Subject:
        """A VpcConfig checked before CreateModel. It is evaluated as a model unless it
        names job inputs (instance count above 1, data locations or KMS keys).
        `enable_network_isolation`: the CreateModel request's, when one was given (None: a
        bare VpcConfig, which says nothing about it); `name`: the request's model or job name."""
        kms = tuple(kms_key_ids)
        inputs, outputs = tuple(input_s3_uris), tuple(output_s3_uris)
        as_job = instance_count > 1 or bool(kms or inputs or outputs)
        return Subject(
            type="transform_job" if as_job else "model",
            name=name or "preflight",
            arn="",
            region=self.region,
            account=account or account_from_arn(role_arn),
            model_name=name if name and not as_job else "preflight",
            instance_count=instance_count,
            vpc_config=VpcConfig(tuple(subnet_ids), tuple(security_group_ids)),
            execution_role_arn=role_arn,
            enable_network_isolation=enable_network_isolation,
            kms_key_ids=kms,
            input_s3_uris=inputs,
            output_s3_uris=outputs,
            preflight=True,
        )

    def _unresolved(self, kind: str, name: str, name_or_arn: str, exc: BaseException) -> Subject:
        raise_if_setup_error(exc)
        label = "model" if kind == "model" else "transform job"
        if isinstance(exc, ClientError) and _is_not_found(exc):
            reason = f"{label} {name!r} not found in {self.region} (deleted, or a typo?)"
        else:
            op = "sagemaker:DescribeModel" if kind == "model" else "sagemaker:DescribeTransformJob"
            reason = f"cannot read {label} {name!r}: {describe_error(exc, op)}"
        arn = name_or_arn if name_or_arn.startswith("arn:") else ""
        return Subject(
            type=kind,  # type: ignore[arg-type]
            name=name,
            arn=arn,
            region=self.region,
            account=account_from_arn(arn),
            model_name=name if kind == "model" else "",
            error=reason,
        )
