"""cfnkit developer tools: `cfnkit invoke`, `cfnkit event` and `cfnkit demo` (not part of the Lambda layer).

Kept import-free: cfnkit_tools.child runs inside the emulated Lambda process, and importing
this package must not pull anything onto that process's path before the handler's own code.
"""

#: The package's interface is the `cfnkit` command (cfnkit_tools.cli:main).
__all__: list[str] = []
