# The source document's SecretsManager function (chapter 9), as written there, for comparison.
import cfnresponse, json, sys, os
import boto3

client = boto3.client('secretsmanager')

def handler(event, context):
  sys.stdout = sys.__stdout__
  try:
    print("Received event %s" % event)
    if event['RequestType'] == 'Delete':
      cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, event['PhysicalResourceId'])
      return
    secret = client.get_secret_value(
      SecretId=event['ResourceProperties']['SecretId'],
    )
    credentials = json.loads(secret['SecretString'])
    # Suppress logging output to ensure credential values are kept secure
    with open(os.devnull, "w") as devnull:
      sys.stdout = devnull
      cfnresponse.send(
        event,
        context,
        cfnresponse.SUCCESS,
        credentials, # This dictionary will be exposed to CloudFormation resources
        secret['VersionId'], # Physical ID of the custom resource
        noEcho=True
      )
  except Exception as e:
    print("A failure occurred with exception %s" % e)
    cfnresponse.send(event, context, cfnresponse.FAILED, {})
