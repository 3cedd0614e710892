"""How long after an ECS task stops does CloudFormation hear about it?

Issue 3 asks that the stop reach CloudFormation within 2 s. This runs the real
handler (CustomResource(EcsTaskRunner()), the real SystemClock, 1 s polling, the
real HTTP sender) against moto in-process, with a local ResponseServer as the
ResponseURL. For each run a background thread plays the ECS agent: once the task
exists it waits a little (spread over a poll interval), marks the task STOPPED
and notes the wall time; the delay is ReceivedPut.at minus that time.

    .venv/bin/python bench/ecs_report_delay.py            # 25 runs
    .venv/bin/python bench/ecs_report_delay.py --runs 40

Prints one line per run and a summary (median, p90, max) in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions" / "ecs_task_runner"), str(ROOT / "layers" / "core"), str(ROOT / "tools")]
for name, value in (
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
):
    os.environ.setdefault(name, value)

from cfnkit import CustomResource  # noqa: E402
from cfnkit.testing import FakeContext, ResponseServer, create_event  # noqa: E402
from cfnkit_tools.ecs_agent import EcsAgent, fargate_world  # noqa: E402
from ecs_runner import EcsTaskRunner  # noqa: E402
from moto import mock_aws  # noqa: E402

REGION = "us-east-1"
CLUSTER = "bench"


def setup() -> dict[str, object]:
    return {**fargate_world(REGION, CLUSTER), "LogTailLines": "0"}


def one_run(index: int, props: dict[str, object], agent: EcsAgent, server: ResponseServer) -> float:
    before = set(agent.task_arns(CLUSTER))
    puts_before = len(server.puts)
    stopped_at: list[float] = []
    # Spread the stop over a poll interval: 0.50, 0.87, 1.24, ... seconds after RunTask.
    offset = 0.5 + (index * 0.37) % 1.0

    def play_agent() -> None:
        deadline = time.time() + 10
        while time.time() < deadline:
            new = set(agent.task_arns(CLUSTER)) - before
            if new:
                time.sleep(offset)
                agent.stop(new.pop(), exit_codes={"migrate": 0})
                stopped_at.append(time.time())
                return
            time.sleep(0.01)

    thread = threading.Thread(target=play_agent, daemon=True)
    thread.start()
    event = create_event(props, response_url=server.url, logical_id=f"Run{index}")
    CustomResource(EcsTaskRunner(), log_level="WARNING")(event, FakeContext(60))
    thread.join()
    put = server.wait_for(puts_before + 1, timeout=10)[-1]
    status = put.json()["Status"]
    if status != "SUCCESS" or not stopped_at:
        raise SystemExit(f"run {index}: unexpected outcome {status}: {put.json().get('Reason')}")
    return put.at - stopped_at[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    delays: list[float] = []
    with mock_aws(), ResponseServer() as server:
        EcsAgent.hold()
        try:
            props = setup()
            agent = EcsAgent(REGION)
            for index in range(args.runs):
                delay = one_run(index, props, agent, server)
                delays.append(delay)
                print(f"run {index + 1:2d}: stop -> response {delay * 1000:7.1f} ms")
        finally:
            EcsAgent.release()
    ordered = sorted(delays)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    print(
        f"\nruns={len(delays)} median={statistics.median(delays) * 1000:.0f} ms "
        f"p90={p90 * 1000:.0f} ms max={max(delays) * 1000:.0f} ms min={min(delays) * 1000:.0f} ms"
    )
    print("| runs | median | p90 | max | min |\n|---:|---:|---:|---:|---:|")
    print(
        f"| {len(delays)} | {statistics.median(delays) * 1000:.0f} ms | {p90 * 1000:.0f} ms "
        f"| {max(delays) * 1000:.0f} ms | {min(delays) * 1000:.0f} ms |"
    )


if __name__ == "__main__":
    main()
