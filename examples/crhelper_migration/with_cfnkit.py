"""Custom::WaitForObject with cfnkit: wait until an S3 object exists, answer its ETag and size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cfnkit import Field, InProgress, Integer, Provider, Request, Result, Schema, State, String

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class WaitForObject(Provider):
    schema = Schema(
        Bucket=Field(String(min_length=3, max_length=63), required=True),
        Key=Field(String(min_length=1, max_length=1024), required=True),
        PollSeconds=Field(Integer(minimum=1, maximum=300), default=5),
    )

    def __init__(self, s3: S3Client | None = None) -> None:
        self._s3 = s3

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def create(self, request: Request) -> Result | InProgress:
        return self.poll(request, {})  # update() does the same by default

    def poll(self, request: Request, state: State) -> Result | InProgress:
        props = request.properties
        try:
            head = self.s3.head_object(Bucket=props["Bucket"], Key=props["Key"])
        except self.s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return InProgress(state, interval=props["PollSeconds"])  # not there yet
            raise
        return Result(
            physical_id=f"s3://{props['Bucket']}/{props['Key']}",
            data={"ETag": head["ETag"].strip('"'), "ContentLength": str(head["ContentLength"])},
        )

    def on_timeout(self, request: Request, state: State) -> str:
        return f"s3://{request.properties['Bucket']}/{request.properties['Key']} did not appear"

    # delete(): the default Result() is right: nothing was created.
