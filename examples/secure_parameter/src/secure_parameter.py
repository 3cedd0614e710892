"""Custom::SecureParameter: an SSM SecureString parameter, which AWS::SSM::Parameter cannot create.

The value arrives as a property (from a NoEcho template parameter or a secret), is
declared secret=True, and so is masked in every log line and Reason; the attributes
are the parameter's Name, Arn and Version, never its value.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from cfnkit import Field, Provider, ProviderError, Request, Result, Schema, String, get_logger

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda runtime has boto3 itself
    from mypy_boto3_ssm import SSMClient

log = get_logger("secure_parameter")
OWNER_TAG = "cfnkit:owner"


class SecureParameter(Provider):
    schema = Schema(
        Name=Field(String(min_length=1, max_length=1011, pattern=r"/?[A-Za-z0-9_.\-/]+"), required=True),
        Value=Field(String(min_length=1, max_length=4096), required=True, secret=True),
        KeyId=Field(String(min_length=1), description="KMS key; default the AWS managed key aws/ssm"),
        Description=Field(String(max_length=1024), default=""),
    )

    def __init__(self, ssm: SSMClient | None = None) -> None:
        self._ssm = ssm  # a seam: tests pass a moto-backed or stubbed client

    @property
    def ssm(self) -> SSMClient:
        """Created on first use: importing this module never touches boto3 or AWS."""
        if self._ssm is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 5})
            self._ssm = boto3.client("ssm", config=config)
        return self._ssm

    def create(self, request: Request) -> Result:
        props = request.properties
        name = props["Name"]
        owner = owner_of(request)
        try:
            version = self._put(props, Overwrite=False, Tags=[{"Key": OWNER_TAG, "Value": owner}])
        except self.ssm.exceptions.ParameterAlreadyExists:
            # A repeated delivery of this Create finds its own parameter: adopt it.
            # Anybody else's parameter is left alone.
            tags = self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
            if {"Key": OWNER_TAG, "Value": owner} not in tags:
                raise ProviderError(
                    f"Parameter {name} already exists and was not created by this resource; "
                    "choose another Name, or delete the parameter first"
                ) from None
            version = self._put(props, Overwrite=True)
        log.info("parameter written", extra={"fields": {"name": name, "version": version}})
        return self._result(request, name, version)

    def update(self, request: Request) -> Result:
        if request.properties["Name"] != request.physical_id:
            # A new Name is a new parameter; CloudFormation then deletes the old one.
            return self.create(request)
        version = self._put(request.properties, Overwrite=True)
        log.info("parameter updated", extra={"fields": {"name": request.physical_id, "version": version}})
        return self._result(request, request.properties["Name"], version)

    def delete(self, request: Request) -> Result:
        # Delete must succeed when the parameter is already gone.
        try:
            self.ssm.delete_parameter(Name=request.physical_id or "")
        except self.ssm.exceptions.ParameterNotFound:
            log.info("parameter already gone", extra={"fields": {"name": request.physical_id}})
        return Result()

    def _put(self, props: Any, **options: Any) -> int:
        extra = {"KeyId": props["KeyId"]} if props.get("KeyId") else {}
        if props["Description"]:
            extra["Description"] = props["Description"]
        answer = self.ssm.put_parameter(
            Name=props["Name"], Value=props["Value"], Type="SecureString", **extra, **options
        )
        return answer["Version"]

    def _result(self, request: Request, name: str, version: int) -> Result:
        _, partition, _, region, account, *_ = request.stack_id.split(":")
        arn = f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"
        return Result(physical_id=name, data={"Name": name, "Arn": arn, "Version": str(version)})


def owner_of(request: Request) -> str:
    """The tag value that marks a parameter as this resource's (stable across its requests)."""
    return hashlib.sha256(f"{request.stack_id}\x1f{request.logical_id}".encode()).hexdigest()[:32]
