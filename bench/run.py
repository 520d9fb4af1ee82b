"""`make bench`: prints every figure beside its target and writes bench/results.md and
bench/throughput.png.

Sections run in order (SECTIONS); each prints as it measures. A new measurement is one more
`Section`, its renderer in `bench.report`. `BENCH_QUICK=1` does little
of each, to check the harness (figures too rough to quote); `BENCH_ONLY=http_path,growth`
runs only those sections (and what they need). Either writes results-draft.md (not kept in
git) instead of results.md, which holds whole full runs only. Each measurement gets a fresh
in-memory server (SecantusDB slows as it absorbs writes).
"""

import asyncio
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import (
    chat_exit,
    driver_ceiling,
    growth,
    http_path,
    machinery_cpu,
    mode,
    path_profile,
    replicas,
    report,
    webhook_processes,
)
from bench.database import fresh_database
from bench.in_process import responsiveness, step_round_trips
from bench.report import Took, write_report
from bench.variants import VARIANTS

DELAY = 0.050
"""The latency proxy's delay each way for the goals: a database 100 ms of round trip away."""
EARLIER_DELAY = 0.020
"""The delay the in-process responsiveness and webhook scaling figures (and their targets)
were first measured at, kept so they stay comparable."""
OUT = Path(__file__).parent
Row = dict[str, Any]
Results = dict[str, Row]
Say = Callable[[str], None]


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    measure: Callable[[Results, mode.Mode], Row]
    """Measures and prints, given the results of the sections before."""
    report: report.Renderer
    """Its part of results.md, and the targets it judges."""
    needs: tuple[str, ...] = ()
    """Sections whose results this one's measurement uses."""


def _chat_exit(results: Results, chosen: mode.Mode) -> Row:
    found = chat_exit.chat_exit(chosen.chat_exits)
    say(
        f"  answer -> exit: median {found['answer_to_exit_s']:.2f} s"
        f" (slowest {found['slowest_answer_to_exit_s']:.2f} s);"
        f" launch -> answer: median {found['launch_to_answer_s']:.2f} s"
    )
    return found


def _steps(results: Results, _: mode.Mode) -> Row:
    found = {}
    for isolation in ("local", "mongo"):
        with fresh_database(None) as database:
            found[isolation] = asyncio.run(step_round_trips(database.uri, isolation))
        say(f"  {isolation}: " + ", ".join(f"{r['step']} {r['rounds']}" for r in found[isolation]))
    return found


def _responsiveness(results: Results, chosen: mode.Mode) -> Row:
    found = {}
    for variant in VARIANTS:
        with fresh_database(EARLIER_DELAY) as database:
            row = asyncio.run(responsiveness(database.uri, variant, chosen.load_seconds))
        found[variant] = row
        say(
            f"  {variant}: /help p50 {row['help_p50']:.1f} ms, p99 {row['help_p99']:.1f} ms,"
            f" loop lag p99 {row['lag_p99']:.2f} ms"
        )
    return {"delay_ms": EARLIER_DELAY * 1000, "variants": found}


def _webhook_scaling(results: Results, chosen: mode.Mode) -> Row:
    found = {}
    for level in chosen.webhook_levels:
        for processes in (1, 3):
            with fresh_database(EARLIER_DELAY) as database:
                row = webhook_processes.throughput(database.uri, processes, level)
            found[f"{processes}x{level}"] = {"processes": processes, "users": level} | row
            say(
                f"  {processes} process(es), {level} users at once:"
                f" {row['updates_s']:.1f} updates/s"
            )
    return {"delay_ms": EARLIER_DELAY * 1000, "runs": found}


SECTIONS = [
    Section(
        "http_path",
        f"The whole HTTP path at {DELAY * 1000:g} ms each way: ours, the seed's design, the"
        " AsyncMongoClient yardstick",
        lambda _, chosen: http_path.measure(DELAY, chosen, say),
        report.http_path,
    ),
    Section(
        "replicas",
        f"Under conversation leases at {DELAY * 1000:g} ms: one polling process, webhook replicas",
        lambda _, chosen: replicas.measure(DELAY, chosen, say),
        report.replicas,
    ),
    Section(
        "machinery_cpu",
        "The machinery's own CPU per update (memory storage): bare aiogram against ours",
        lambda _, chosen: machinery_cpu.measure(chosen, say),
        report.machinery_cpu,
    ),
    Section(
        "path_profile",
        "Where our process's CPU goes on the whole HTTP path (profiled)",
        lambda _, chosen: path_profile.measure(DELAY, chosen, say),
        report.path_profile,
    ),
    Section(
        "driver_ceiling",
        "Local database: ours against a raw pymongo loop sending the same commands",
        lambda results, chosen: driver_ceiling.measure(
            results["http_path"]["counted"]["ours"], chosen, say
        ),
        report.driver_ceiling,
        needs=("http_path",),
    ),
    Section(
        "growth",
        "Growth: users stored, users served",
        lambda _, chosen: growth.measure(chosen, say),
        report.growth,
    ),
    Section(
        "chat_exit",
        "The terminal chat: `printf '/help\\n' | profilebot chat`, answer to exit",
        _chat_exit,
        report.chat_exit,
    ),
    Section("steps", "Round trips per step, in process (command monitoring)", _steps, report.steps),
    Section(
        "responsiveness",
        f"Responsiveness at {EARLIER_DELAY * 1000:g} ms, in process: /help while 64 users run"
        " scripts",
        _responsiveness,
        report.responsiveness,
    ),
    Section(
        "webhook_scaling",
        f"Webhook processes at {EARLIER_DELAY * 1000:g} ms: 1 against 3 on one database",
        _webhook_scaling,
        report.webhook_scaling,
    ),
]


def chosen_sections() -> list[Section]:
    """All sections, or those BENCH_ONLY names and the ones they need, in order."""
    only = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
    if not only:
        return SECTIONS
    unknown = only - {s.key for s in SECTIONS}
    if unknown:
        raise SystemExit(f"BENCH_ONLY: no section {', '.join(sorted(unknown))}")
    by_key = {s.key: s for s in SECTIONS}
    wanted = set(only)
    for key in only:
        wanted |= set(by_key[key].needs)
    return [s for s in SECTIONS if s.key in wanted]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    chosen, sections = mode.current(), chosen_sections()
    started = time.perf_counter()
    machine: Row = {
        "node": platform.node() or "this machine",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "mode": chosen.name,
        "load_before": load_average(),
    }
    say(
        f"profilebot bench ({chosen.name} mode): {machine['cpus']} CPUs,"
        f" Python {machine['python']}, load average {machine['load_before']}"
    )
    results: Results = {}
    took: dict[str, Took] = {}
    for section in sections:
        say(f"\n{section.title}")
        before, clock = load_average(), time.perf_counter()
        results[section.key] = section.measure(results, chosen)
        took[section.key] = Took(time.perf_counter() - clock, before, load_average())
        say(f"  [{took[section.key]}]")
    machine["load_after"] = load_average()
    machine["minutes"] = (time.perf_counter() - started) / 60
    whole = len(sections) == len(SECTIONS)
    ran = [(section.key, section.report) for section in sections]
    final = whole and chosen == mode.FULL
    targets = write_report(machine, ran, results, took, OUT if final else None)
    say("\nTargets")
    for target in targets:
        say(f"  {target}")
    say(f"\nTook {machine['minutes']:.1f} min; load average now {machine['load_after']}")
    written = "" if final else "-draft"
    say(f"Wrote {OUT / f'results{written}.md'} and {OUT / f'throughput{written}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
