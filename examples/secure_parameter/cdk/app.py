"""A CDK (v2, Python) app whose stack uses Custom::SecureParameter through its ServiceToken.

Deploy the provider first (template.yaml, as stack secure-parameter), then:
    cdk deploy --app "python3 cdk/app.py" --parameters DatabasePassword=...
"""

import aws_cdk as cdk
from aws_cdk import CfnOutput, CfnParameter, CustomResource, Duration, Fn, Stack
from constructs import Construct


class ApplicationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, provider_stack: str = "secure-parameter") -> None:
        super().__init__(scope, construct_id)
        password = CfnParameter(self, "DatabasePassword", no_echo=True, min_length=8)
        parameter = CustomResource(
            self,
            "DatabasePasswordParameter",
            # The provider stack exports its function's ARN as <stack name>-SecureParameter.
            service_token=Fn.import_value(f"{provider_stack}-SecureParameter"),
            resource_type="Custom::SecureParameter",
            service_timeout=Duration.seconds(120),
            properties={
                "Name": "/myapp/db-password",
                "Value": password.value_as_string,
                "Description": "The application's database password",
            },
        )
        CfnOutput(self, "ParameterArn", value=parameter.get_att_string("Arn"))
        CfnOutput(self, "ParameterVersion", value=parameter.get_att_string("Version"))


app = cdk.App()
ApplicationStack(app, "myapp")
app.synth()
