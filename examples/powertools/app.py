"""The handler: Powertools' inject_lambda_context logs every event (log_event=True) before cfnkit runs."""

from aws_lambda_powertools import Logger
from cfnkit.entry import serve

logger = Logger()  # the same service (POWERTOOLS_SERVICE_NAME) as the provider module's Logger

handler = logger.inject_lambda_context(log_event=True, clear_state=True)(serve("derived_secret:DerivedSecret"))
