# The ECS task runner written with crhelper, for comparison: create starts the
# task, poll_create checks it (crhelper's pattern for long work: an EventBridge
# rule re-invokes the function every polling_interval minutes, minimum 1).
import boto3
from crhelper import CfnResource

helper = CfnResource(polling_interval=1)
client = boto3.client('ecs')


@helper.create
@helper.update
def create(event, context):
    props = event['ResourceProperties']
    tasks = client.run_task(
        cluster=props['Cluster'],
        taskDefinition=props['TaskDefinition'],
        overrides=props.get('Overrides', {}),
        count=1,
        startedBy=event['RequestId'][:36],
    )
    if tasks['failures']:
        raise ValueError("RunTask failed: %s" % tasks['failures'])
    helper.Data['TaskArn'] = tasks['tasks'][0]['taskArn']
    return None


@helper.poll_create
@helper.poll_update
def poll(event, context):
    props = event['ResourceProperties']
    arn = event['CrHelperData']['TaskArn']
    task = client.describe_tasks(cluster=props['Cluster'], tasks=[arn])['tasks'][0]
    if task['lastStatus'] != 'STOPPED':
        return None  # not done: crhelper polls again on the next rule firing
    codes = [c.get('exitCode') for c in task['containers']]
    if any(code != 0 for code in codes):
        raise ValueError("task %s stopped with exit codes %s (%s)" % (arn, codes, task.get('stoppedReason')))
    return arn


@helper.delete
def delete(event, context):
    return None


def handler(event, context):
    helper(event, context)
