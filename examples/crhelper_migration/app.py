"""The cfnkit version's Lambda handler (Handler: app.handler)."""

from cfnkit.entry import serve

handler = serve("with_cfnkit:WaitForObject")
