"""Render bench results: bench/results/latest.{md,json} and the docs benchmarks page's tables between the markers."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: The page of the documentation site whose tables bench/run.py rewrites (between the markers).
PAGE = ROOT / "docs" / "benchmarks.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
OURS, DOC, CRHELPER = "cfnkit", "document (cfnresponse + tasks_stopped waiter)", "crhelper"


def _s(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def _t(value: float | None) -> str:
    """Seconds, or milliseconds below one second."""
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def _ratio(peer: float | None, ours: float | None) -> str:
    if peer is None or ours is None or ours <= 0:
        return "n/a"
    return f"{peer / ours:.1f}x"


def _cell(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|") or "(empty)"


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def chart(title: str, labels: list[str], y_axis: str, bars: list[float], line: list[float] | None = None) -> list[str]:
    """A Mermaid xychart (GitHub and the docs site draw it): bars, and optionally a line, over labels."""
    quoted = ", ".join(f'"{label}"' for label in labels)
    top = max([*bars, *(line or [])], default=1.0)
    out = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f"    x-axis [{quoted}]",
        f'    y-axis "{y_axis}" 0 --> {top * 1.1:.2f}',
        f"    bar [{', '.join(f'{v:.2f}' for v in bars)}]",
    ]
    if line is not None:
        out.append(f"    line [{', '.join(f'{v:.2f}' for v in line)}]")
    return [*out, "```", ""]


def render(results: dict[str, Any]) -> tuple[str, list[str]]:
    """The markdown, and the list of places where cfnkit was slower than a peer."""
    m = results["machine"]
    out: list[str] = []
    slower: list[str] = []
    out.append(
        f"Measured {m['date']} on `{m['uname']}`, {m['cpu']}, Python {m['python']}; "
        f"moto in-process, response server on 127.0.0.1. Command: `.venv/bin/python bench/run.py` "
        f"({results.get('duration_s', 0):.0f} s). Ratios are peer / cfnkit (above 1x: cfnkit is faster)."
    )
    out.append("")

    # 1. report delay
    delay = results.get("report_delay")
    if delay:
        short = [r for r in delay["short"] if "delay" in r]
        by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in short:
            by[row["who"]].append(row)
        out.append(
            "**Report delay**: from the ECS task stopping (the agent emulator marks it STOPPED) to the "
            "response reaching the server. Short task: stopped 1-7 s after RunTask (uniform, the same "
            "offsets for both). Continuation: 6 s Lambda timeout, stopped 3-6.5 s after RunTask, around "
            "the hand-off to the next invocation."
        )
        out.append("")
        long_rate = {r["who"]: r for r in results.get("long_wait", []) if "per_minute" in r}
        out.append(
            "| handler | runs | median | max | median vs cfnkit | DescribeTasks calls per run (median) | "
            "DescribeTasks per minute of a long wait |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        ours_median = None
        ours_rate: float | None = None
        for who in (OURS, DOC):
            rows = by.get(who, [])
            if not rows:
                continue
            delays = [r["delay"] for r in rows]
            med = statistics.median(delays)
            if who == OURS:
                ours_median = med
            calls = statistics.median(r["describe_calls"] for r in rows)
            rate = long_rate.get(who)
            rate_cell = f"{rate['per_minute']:.0f} ({rate['waited']:.0f} s task)" if rate else "-"
            label = "cfnkit EcsTaskRunner" if who == OURS else "document: cfnresponse + `tasks_stopped` waiter"
            out.append(
                f"| {label}, short task | {len(rows)} | {_s(med)} | {_s(max(delays))} | "
                f"{_ratio(med, ours_median) if who != OURS else '1.0x'} | {calls:.0f} | {rate_cell} |"
            )
            if who == OURS:
                ours_rate = rate["per_minute"] if rate else None
            else:
                doc_rate = rate["per_minute"] if rate else None
                if ours_rate and doc_rate and ours_rate > doc_rate:
                    slower.append(
                        f"API calls, not time: cfnkit polls DescribeTasks {ours_rate:.0f} times a minute, "
                        f"the document's waiter {doc_rate:.0f}"
                    )
        cont = [r for r in delay["continuation"] if "delay" in r]
        if cont:
            delays = [r["delay"] for r in cont]
            after = sum(1 for r in cont if r["stopped_after_handoff"])
            hops = max(r["hops"] for r in cont)
            out.append(
                f"| cfnkit EcsTaskRunner, across a continuation ({after} of {len(cont)} stops after a "
                f"hand-off; up to {hops} hop(s)) | {len(cont)} | {_s(statistics.median(delays))} | "
                f"{_s(max(delays))} | - | - | - |"
            )
        out.append(
            "| document, task longer than the Lambda timeout | - | never | never | cannot continue: Lambda "
            "ends the waiter at its timeout and nothing is sent; the stack waits an hour | - | - |"
        )
        probe = results.get("crhelper_poll")
        if probe:
            if probe.get("delay") is not None:
                cr = (
                    f"| crhelper `poll_create` (moto stores its `{probe.get('rule')}` EventBridge rule but never "
                    "fires it; the harness fired it 60 s after creation, the latest EventBridge would; on AWS "
                    f"the delay is 0-60 s, 30 s on average) | 1 | {_s(probe['delay'])} | {_s(probe['delay'])} | "
                    f"{_ratio(probe['delay'], ours_median)} | 1 | 1 |"
                )
            else:
                cr = f"| crhelper `poll_create` | 1 | no answer | - | {_cell(str(probe))} | - | - |"
            out.append(cr)
        out.append("")
        ours_runs = sorted(by.get(OURS, []), key=lambda r: r["offset"])
        doc_runs = sorted(by.get(DOC, []), key=lambda r: r["offset"])
        if ours_runs and len(ours_runs) == len(doc_runs):
            out.extend(
                chart(
                    "Report delay per run, short task (s): bars the document's waiter, line cfnkit",
                    [f"{r['offset']:.1f} s" for r in ours_runs],
                    "seconds",
                    [r["delay"] for r in doc_runs],
                    [r["delay"] for r in ours_runs],
                )
            )

    # 2. time to FAILED
    table = results.get("time_to_failed")
    if table:
        out.append(
            "**Time to FAILED** (Lambda timeout 5 s for everyone; median of the repetitions; "
            '"no answer in N s" means nothing reached the server in the N s we waited). crhelper only '
            "speaks HTTPS, so its ResponseURL is a TLS-wrapped copy of the same server, except in the row that "
            "gives it the plain http:// URL everyone else gets: there every PUT fails the TLS handshake and "
            "it retries forever. "
            "The last two rows time how long the handler took to return, and whether it ever did: cfnkit "
            "retries with backoff until just before the Lambda deadline, then logs that CloudFormation was "
            "not told; "
            "the document's single PUT gives up at once on a refused connection (the stack then waits for "
            "its timeout, an hour by default) and has no timeout on a stalled one; crhelper retries forever."
        )
        out.append("")
        out.append("| scenario | cfnkit | document | crhelper | document vs cfnkit | crhelper vs cfnkit |")
        out.append("|---|---:|---:|---:|---:|---:|")
        scenarios: list[str] = []
        for row in table:
            if row["scenario"] not in scenarios:
                scenarios.append(row["scenario"])
        reasons: dict[str, dict[str, str]] = defaultdict(dict)
        for scenario in scenarios:
            cells: dict[str, str] = {}
            values: dict[str, float | None] = {}
            for who in (OURS, DOC, CRHELPER):
                rows = [r for r in table if r["scenario"] == scenario and r["who"] == who]
                if not rows:
                    cells[who], values[who] = "-", None
                    continue
                if "returned" in rows[0]:
                    returned = [r["returned"] for r in rows if r["returned"] is not None]
                    if len(returned) == len(rows):
                        med = statistics.median(returned)
                        delivered = any(r.get("answered") for r in rows)
                        cells[who] = f"returned after {_t(med)}" + ("" if delivered else ", nothing delivered")
                        values[who] = med
                    else:
                        cells[who] = f"did not return in {rows[0].get('waited', 10):.0f} s"
                        values[who] = None
                    continue
                times = [r["time"] for r in rows if "time" in r]
                if len(times) == len(rows):
                    med = statistics.median(times)
                    statuses = {r["status"] for r in rows}
                    extra = "" if statuses == {"FAILED"} else f" ({'/'.join(sorted(statuses))})"
                    answers = max(r.get("answers", 1) for r in rows)
                    if answers > 1:
                        extra += f", {answers} answers"
                    cells[who] = f"{_t(med)}{extra}"
                    values[who] = med
                    reasons[scenario][who] = rows[0].get("reason", "")
                else:
                    cells[who] = f"no answer in {rows[0].get('waited', 10):.0f} s"
                    values[who] = None
            ours = values.get(OURS)
            returns = any("returned" in c for c in cells.values())
            ratios = ("-", "-") if returns else (_ratio(values.get(DOC), ours), _ratio(values.get(CRHELPER), ours))
            out.append(f"| {scenario} | {cells[OURS]} | {cells[DOC]} | {cells[CRHELPER]} | {ratios[0]} | {ratios[1]} |")
            for who in (DOC, CRHELPER):
                peer = values.get(who)
                # Differences under 20 ms or 20% are noise on this machine.
                if peer is not None and ours is not None and not returns and peer < ours * 0.8 and ours - peer > 0.02:
                    slower.append(f"time to FAILED, {scenario}: {who} {_t(peer)} vs cfnkit {_t(ours)}")
        out.append("")
        out.append("What the stack shows (the Reason of the first repetition):")
        out.append("")
        out.append("| scenario | cfnkit | document | crhelper |")
        out.append("|---|---|---|---|")
        for scenario in scenarios:
            if scenario not in reasons:
                continue
            got = reasons[scenario]
            out.append(
                f"| {scenario} | "
                + " | ".join(_cell(got[w]) if w in got else "-" for w in (OURS, DOC, CRHELPER))
                + " |"
            )
        out.append("")

    leaks = results.get("leaks")
    if leaks:
        out.append(
            "**Secret values in the function's output** (one Create of a secret holding a fresh canary; "
            "stdout and stderr captured, with a handler on the root logger as the Lambda runtime installs)."
        )
        out.append("")
        out.append("| handler | output lines containing the secret | first such line (secret masked here) |")
        out.append("|---|---:|---|")
        for who in (OURS, DOC, CRHELPER):
            if who in leaks:
                got = leaks[who]
                first = _cell(got["first"], 140) if got["first"] else "-"
                out.append(f"| {who} | {got['lines_with_secret']} | {first} |")
        out.append("")

    # 3. cold start
    cold = results.get("cold_start")
    if cold:
        base = statistics.median(cold["import boto3"])
        out.append(
            f"**Cold start**: import time of the handler module in a fresh interpreter (median and max of "
            f"{len(cold['import boto3'])}, interleaved), module-level code included (the peers create "
            "their boto3 clients at import). cfnkit's modules import boto3 only on first use, so the last "
            "cfnkit row adds what its first request pays."
        )
        out.append("")
        peer_of = {
            "cfnkit ecs_task_runner/app.py": "crhelper ECS runner",
            "cfnkit secrets_resolver/app.py": "crhelper secrets",
            "cfnkit ecs app.py + its boto3 client": "crhelper ECS runner",
            "document ECS runner": "crhelper ECS runner",
            "document secrets": "crhelper secrets",
        }
        out.append("| module | median | max | vs `import boto3` | crhelper module of the same provider vs this |")
        out.append("|---|---:|---:|---:|---:|")
        for label, samples in cold.items():
            med = statistics.median(samples)
            crhelper_label = peer_of.get(label)
            versus = f"{statistics.median(cold[crhelper_label]) / med:.2f}x" if crhelper_label in cold else "-"
            out.append(f"| {label} | {_ms(med)} | {_ms(max(samples))} | {med / base:.2f}x | {versus} |")
        out.append("")
        out.extend(
            chart(
                "Cold start, median (ms)",
                list(cold),
                "milliseconds",
                [statistics.median(samples) * 1000 for samples in cold.values()],
            )[:-1]
        )
        cost = results.get("client_cost")
        if cost:
            out.append("")
            out.append(
                "Creating the boto3 client in a warm process (cfnkit's app.py builds its provider, and so its "
                f"client, on every request; the peers once at import): ecs "
                f"{_ms(statistics.median(cost['ecs']))}, secretsmanager "
                f"{_ms(statistics.median(cost['secretsmanager']))} (median of {len(cost['ecs'])})."
            )
        ours_full = statistics.median(cold["cfnkit ecs app.py + its boto3 client"])
        doc_full = statistics.median(cold["document ECS runner"])
        if ours_full > doc_full:
            slower.append(
                f"cold start including the first boto3 client: cfnkit ECS {_ms(ours_full)} vs document {_ms(doc_full)}"
            )
        out.append("")

    # 4. sizes
    sizes = results.get("sizes")
    if sizes:
        how = "`sam build`" if sizes.get("built_with_sam") else "source directories zipped"
        out.append(
            f"**Artifact sizes** ({how}; zipped with deflate as `sam package` uploads them). "
            "The document's functions are inline ZipFile code (cfnresponse comes with the runtime); "
            "the crhelper ones must bundle crhelper." + (f" {sizes['note']}." if sizes.get("note") else "")
        )
        out.append("")
        out.append("| artifact | files | unzipped | zipped |")
        out.append("|---|---:|---:|---:|")
        for label, numbers in sizes["artifacts"].items():
            out.append(f"| {label} | {numbers['files']} | {_kb(numbers['unzipped'])} | {_kb(numbers['zipped'])} |")
        out.append("")
    return "\n".join(out), slower


def tables(results: dict[str, Any]) -> str:
    """The markdown that goes between the markers (and into latest.md); records cfnkit_slower in results."""
    markdown, slower = render(results)
    results["cfnkit_slower"] = slower
    if slower:
        markdown += "\nWhere cfnkit measured slower than a peer:\n\n" + "\n".join(f"- {s}" for s in slower) + "\n"
    else:
        markdown += "\ncfnkit was not slower than a peer in any timed row of this run.\n"
    return markdown


def write(results: dict[str, Any], *, page: bool) -> None:
    markdown = tables(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text("# Benchmark results\n\n" + markdown)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    import sys

    print(markdown, file=sys.__stdout__)
    if page:
        update_page(PAGE, markdown)


def update_page(path: Path, markdown: str) -> bool:
    """Replace only the text between the markers; False (and the page untouched) without them."""
    text = path.read_text()
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start < 0 or end < start:
        print(f"{path.name} has no {MARK_START} ... {MARK_END} markers: left untouched")
        return False
    new = text[: start + len(MARK_START)] + "\n" + markdown.rstrip() + "\n" + text[end:]
    if new != text:
        path.write_text(new)
    return True
