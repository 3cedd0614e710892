"""Lambda entry point of Custom::SecureParameter (Handler: app.handler).

The provider is named, not imported: cfnkit imports secure_parameter and builds
SecureParameter on the first request, inside the guarantee that CloudFormation gets
exactly one answer. An error in secure_parameter.py (at import or in __init__) is then
a FAILED with the file and line in its Reason, not an hour-long wait.
"""

from cfnkit.entry import serve

handler = serve("secure_parameter:SecureParameter")
