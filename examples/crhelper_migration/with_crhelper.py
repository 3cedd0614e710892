"""Custom::WaitForObject with crhelper: wait until an S3 object exists, answer its ETag and size."""

import boto3
from crhelper import CfnResource

helper = CfnResource(polling_interval=1)  # minutes: an EventBridge rule re-invokes the function
s3 = boto3.client("s3")


@helper.create
@helper.update
def start(event, context):
    props = event["ResourceProperties"]
    # State for the polls travels in helper.Data (it becomes the response's Data too).
    helper.Data["Location"] = "s3://{}/{}".format(props["Bucket"], props["Key"])


@helper.poll_create
@helper.poll_update
def check(event, context):
    props = event["ResourceProperties"]
    try:
        head = s3.head_object(Bucket=props["Bucket"], Key=props["Key"])
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return None  # not there yet: polled again when the rule fires next
        raise
    helper.Data.update({"ETag": head["ETag"].strip('"'), "ContentLength": str(head["ContentLength"])})
    return event["CrHelperData"]["Location"]  # a PhysicalResourceId ends the polling


@helper.delete
def delete(event, context):
    pass  # nothing was created


def handler(event, context):
    helper(event, context)
