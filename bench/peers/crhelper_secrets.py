# The secrets resolver written with crhelper, for comparison (its README's pattern).
# crhelper's defaults are kept: log_level DEBUG, polling_interval 2, sleep_on_delete 120.
import json

import boto3
from crhelper import CfnResource

helper = CfnResource()
client = boto3.client('secretsmanager')


@helper.create
@helper.update
def create(event, context):
    props = event['ResourceProperties']
    secret = client.get_secret_value(SecretId=props['SecretId'])
    helper.Data.update(json.loads(secret['SecretString']))
    helper.NoEcho = True
    return None  # crhelper generates "<stack>_<logical>_<random 8>"


@helper.delete
def delete(event, context):
    return None


def handler(event, context):
    helper(event, context)
