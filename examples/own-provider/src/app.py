"""Your own provider on the cfnkit layer: waits until an HTTP(S) URL answers 2xx (Custom::UrlReady).

Deployed by examples/own-provider/template.yaml; `cfnkit` comes from the layer.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from cfnkit import CustomResource, Field, InProgress, Integer, Provider, Request, Result, Schema, State, String


class UrlReady(Provider):
    """Create/Update answer once Url returns 2xx; polls every 10 s, up to Timeout seconds."""

    schema = Schema(
        Url=Field(String(pattern=r"https?://\S+"), required=True, description="the URL to wait for"),
        Timeout=Field(Integer(minimum=1, maximum=3600), default=1800),
    )

    def create(self, request: Request) -> InProgress:
        return InProgress({"checks": 0}, interval=0)

    def update(self, request: Request) -> InProgress:
        return self.create(request)

    def poll(self, request: Request, state: State) -> Result | InProgress:
        try:
            with urllib.request.urlopen(request.properties["Url"], timeout=5) as reply:  # noqa: S310 (http(s) only)
                if 200 <= reply.status < 300:
                    return Result(data={"Checks": str(state["checks"] + 1)})
        except (urllib.error.URLError, TimeoutError, ValueError):
            pass
        return InProgress({"checks": state["checks"] + 1}, interval=10)

    def timeout(self, request: Request) -> float | None:
        return float(request.properties["Timeout"])


handler = CustomResource(UrlReady())
