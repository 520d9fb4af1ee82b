"""bench/results.md and bench/throughput.png from one run's figures: a section per measurement,
each figure beside its target, and the targets together at the top.

Each section of `bench.run.SECTIONS` names its renderer here, which turns its results into
lines and the targets it judges.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.conversing import HELP, REGISTRATION, label
from bench.reference_bot import NAMES as DESIGN_NAMES
from bench.variants import NAMES as VARIANT_NAMES

Row = dict[str, Any]
Results = dict[str, Row]


@dataclass(frozen=True)
class Target:
    goal: str
    figure: str
    target: str
    met: bool

    def __str__(self) -> str:
        return f"{self.goal}: {self.figure} (target {self.target}): {_mark(self.met)}"


Rendered = tuple[list[str], list[Target]]


@dataclass(frozen=True)
class Took:
    """How long a section ran, and the machine's load average before and after it."""

    seconds: float
    load_before: str
    load_after: str

    def __str__(self) -> str:
        return f"{self.seconds:.0f} s; load average {self.load_before} → {self.load_after}"


def row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def rule(columns: int) -> str:
    return "|" + "---|" * columns


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


Renderer = Callable[[Row, Results], Rendered]
"""A section's results (and the whole run's, for comparisons) as lines and judged targets."""


def write_report(
    machine: Row,
    sections: list[tuple[str, Renderer]],
    results: Results,
    took: dict[str, Took],
    out: Path | None,
) -> list[Target]:
    """The targets judged on `results`, section by section (key and renderer, in the order
    the report shows them); with `out`, results.md and throughput.png written there, else
    `results-draft.md` and `throughput-draft.png` beside this module."""
    body: list[str] = []
    targets: list[Target] = []
    for key, render in sections:
        lines, judged = render(results[key], results)
        body += [*lines, "", f"_{took[key]}._"]
        targets += judged
    folder, suffix = (out, "") if out is not None else (Path(__file__).parent, "-draft")
    header = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({machine['mode']} mode) on {machine['node']}:"
        f" {machine['cpus']} CPUs, Python {machine['python']}; the run took"
        f" {machine['minutes']:.1f} min. Load average (1, 5, 15 min, from /proc/loadavg):"
        f" {machine['load_before']} before, {machine['load_after']} after; each section gives"
        " its own. A shared, noisy machine: compare the ratios within this run, not absolute"
        " figures across runs.",
        "",
        "## Targets, judged on this run",
        "",
        row("goal", "measured", "target", ""),
        rule(4),
        *(row(t.goal, t.figure, t.target, _mark(t.met)) for t in targets),
    ]
    text = "\n".join([*header, *body]) + "\n"
    text = text.replace("(throughput.png)", f"(throughput{suffix}.png)")
    (folder / f"results{suffix}.md").write_text(text)
    if "http_path" in results:
        plot(results["http_path"], folder / f"throughput{suffix}.png")
    return targets


def http_path(found: Row, results: Results) -> Rendered:
    designs, counted = found["designs"], found["counted"]
    ours = designs["ours"]
    vs_async = ours["reg_s"] / designs["async"]["reg_s"]
    vs_seed = ours["reg_s"] / designs["seed"]["reg_s"]
    of_bound = ours["reg_s"] / found["bound_reg_s"]
    rounds = counted["ours"]["registration_rounds"]
    lines = [
        "",
        f"## The whole HTTP path, {found['delay_ms']:g} ms each way",
        "",
        "Each bot a separate process polling a local Bot API over HTTP; MongoDB behind a proxy"
        f" adding {found['delay_ms']:g} ms each way; {found['in_flight']} users registering at"
        f" once (/start, then a name), {found['registrations']} registrations per run, each user"
        " sending their next message once the previous one was answered. Median of"
        f" {found['runs']} run(s), the bots taking turns in each. The seed's design and the"
        " yardstick are `bench/reference_bot.py`: the same conversation in plain aiogram 3, its"
        " FSM in MongoDB through aiogram's `PyMongoStorage` (the seed's way: sync pymongo in"
        " `asyncio.to_thread`; the yardstick: `AsyncMongoClient`).",
        "",
        "![registrations per second](throughput.png)",
        "",
        row(
            "bot",
            "registrations/s",
            "each run",
            "p50 registration ms",
            "bot CPU ms per registration (event loop's thread)",
            "round trips per registration",
            "failed",
        ),
        rule(7),
    ]
    for design, figures in designs.items():
        lines.append(
            row(
                DESIGN_NAMES[design],
                f"{figures['reg_s']:.1f}",
                ", ".join(f"{r:.1f}" for r in figures["runs"]),
                f"{figures['p50_ms']:.0f}",
                f"{figures['cpu_ms']:.1f} ({figures['loop_cpu_ms']:.1f})",
                counted[design]["registration_rounds"],
                figures["failed"],
            )
        )
    lines += [
        "",
        "Where the machine's CPU went while each bot was loaded, per registration: the bot"
        " process, the bench's own process (the Bot API stand-in, the latency proxy, the"
        " users), and the rest of the machine (the database server, mostly); and how busy all"
        f" {os.cpu_count()} cores were. Every process shares them: once they are nearly all"
        " busy, the machine, not the bot's round trips, sets the pace.",
        "",
        row(
            "bot",
            "bot CPU ms",
            "bench CPU ms",
            "rest ms",
            "cores busy",
            "command p50 / p90 ms",
            "commands out at once",
        ),
        rule(7),
        *(
            row(
                DESIGN_NAMES[design],
                f"{figures['cpu_ms']:.1f}",
                f"{figures['bench_cpu_ms']:.1f}",
                f"{figures['rest_cpu_ms']:.1f}",
                f"{figures['busy_share']:.0%}",
                f"{figures['command_p50_ms']:.0f} / {figures['command_p90_ms']:.0f}",
                f"{figures['commands_waiting']:.1f}",
            )
            for design, figures in designs.items()
        ),
        "",
        f"A command's time is from the bot's side of the proxy: {2 * found['delay_ms']:g} ms of"
        " it is the proxy's delay, the rest the server's (and the machine's) queue. The latency"
        f" bound assumes all {found['in_flight']} users wait on MongoDB at every moment; the"
        " last column is how many commands were out on average: the rest of the users were"
        " waiting on the bot, the Bot API stand-in or the machine's cores.",
    ]
    threads = min(32, (os.cpu_count() or 1) + 4)
    seed_rounds = counted["seed"]["registration_rounds"]
    seed_bound = threads / (seed_rounds * 2 * found["delay_ms"] / 1000)
    lines += [
        "",
        "The seed's design waits for MongoDB on the loop's default executor, `min(32, CPUs +"
        f" 4)` = {threads} threads here: at most {threads} commands wait at once, so at most"
        f" {threads} ÷ ({seed_rounds} round trips × {2 * found['delay_ms']:g} ms) ="
        f" {seed_bound:.1f} registrations/s, however many users are in flight.",
        "",
        f"Our latency bound: {found['in_flight']} users ÷ ({rounds} sequential round trips ×"
        f" {2 * found['delay_ms']:g} ms) = {found['bound_reg_s']:.1f} registrations/s; ours"
        f" reached {of_bound:.2f} of it.",
        "",
        "Round trips per step, one user at a time (sequential: commands whose spans overlap"
        " count once), counted at the proxy, with the commands in the order sent:",
        "",
        row("step", *(DESIGN_NAMES[d] for d in designs)),
        rule(1 + len(designs)),
    ]
    for step in (*REGISTRATION, HELP):
        lines.append(
            row(
                f"`{label(step)}`",
                *(_rounds_cell(counted[d], step) for d in designs),
            )
        )
    targets = [
        Target(
            "2: ours ÷ the AsyncMongoClient yardstick", _ratio(vs_async), "≥ 1.6×", vs_async >= 1.6
        ),
        Target("2: ours ÷ the seed's design", _ratio(vs_seed), "≥ 3×", vs_seed >= 3),
        Target(
            f"2: ours ÷ our latency bound ({found['bound_reg_s']:.0f} reg/s)",
            _ratio(of_bound),
            "≥ 0.8×",
            of_bound >= 0.8,
        ),
    ]
    return lines, targets


def _rounds_cell(counted: Row, step: str) -> str:
    low, high = counted["spread"][step]
    spread = "" if low == high else f" ({low}–{high})"
    commands = ", ".join(counted["commands"][step]) or "none"
    return f"{counted['rounds'][step]}{spread}: {commands}"


def replicas(found: Row, results: Results) -> Rendered:
    setups = dict(found["modes"])
    one = results.get("http_path")
    if one is not None:
        setups = {
            "one polling process, own locks": {
                "counted": one["counted"]["ours"],
                "loaded": one["designs"]["ours"],
            }
        } | setups
    lines = [
        "",
        f"## Several processes: conversation leases, {found['delay_ms']:g} ms each way",
        "",
        "Ours with `EVENT_ISOLATION=mongo` (each update holds its conversation's lease in"
        " MongoDB): one polling process, and webhook replicas behind a stand-in for Telegram and"
        " a load balancer (a user's next update posted once the previous one was answered). One"
        " user at a time for the round trips and the p50 (the time to /start's answer plus the"
        " name's); the throughput with 64 at once.",
        "",
        row(
            "setup",
            "round trips per registration",
            "`/help` round trips",
            "p50 registration ms, one at a time",
            "registrations/s, 64 at once",
            "failed",
        ),
        rule(6),
    ]
    for name, setup in setups.items():
        lines.append(
            row(
                name,
                setup["counted"]["registration_rounds"],
                setup["counted"]["rounds"][HELP],
                f"{setup['counted']['p50_ms']:.0f}",
                f"{setup['loaded']['reg_s']:.1f}",
                setup["loaded"]["failed"],
            )
        )
    targets = [
        Target(
            f"3: `/help` round trips, {name}",
            str(setup["counted"]["rounds"][HELP]),
            "0",
            setup["counted"]["rounds"][HELP] == 0,
        )
        for name, setup in setups.items()
    ]
    if one is not None:
        base = setups["one polling process, own locks"]
        for name, setup in found["modes"].items():
            if "webhook" not in name:
                continue
            trips = setup["counted"]["registration_rounds"] / base["counted"]["registration_rounds"]
            p50 = setup["counted"]["p50_ms"] / base["counted"]["p50_ms"]
            loaded = base["loaded"]["reg_s"] / setup["loaded"]["reg_s"]
            lines += [
                "",
                f"{name} ÷ one process: round trips per registration {_ratio(trips)}, p50"
                f" registration {_ratio(p50)}, time per registration with 64 at once"
                f" {_ratio(loaded)}.",
            ]
            targets += [
                Target(
                    f"3: {name}, round trips per registration ÷ one process",
                    _ratio(trips),
                    "≤ 1.25×",
                    trips <= 1.25,
                ),
                Target(
                    f"3: {name}, p50 registration ÷ one process",
                    _ratio(p50),
                    "≤ 1.25×",
                    p50 <= 1.25,
                ),
            ]
    return lines, targets


def machinery_cpu(found: Row, results: Results) -> Rendered:
    cpu = found["cpu_ms"]
    ratio = cpu["ours"] / cpu["bare"]
    lines = [
        "",
        "## The machinery's own CPU cost",
        "",
        "Bot-side CPU time per update (the process's CPU time over a fixed workload ÷ updates),"
        " the database out of it: a bare aiogram 3 dispatcher with the same conversation and"
        " aiogram's `MemoryStorage` (`bench/reference_bot.py`), and ours (our container and"
        " dispatcher, every middleware, logging at INFO, the storage swapped for memory). Each"
        f" user sends /start, a name, /me, /rename, a name, /rename, /cancel, /help;"
        f" {found['updates']} updates, 16 users at a time, each run a fresh process, median of"
        f" {len(found['runs']['ours'])}.",
        "",
        row("dispatcher", "CPU ms per update", "each run"),
        rule(3),
    ]
    for design in ("bare", "ours"):
        lines.append(
            row(
                DESIGN_NAMES[design],
                f"{cpu[design]:.3f}",
                ", ".join(f"{v:.3f}" for v in found["runs"][design]),
            )
        )
    bare, ours = found["profiles"]["bare"], found["profiles"]["ours"]
    parts = sorted(set(bare["parts"]) | set(ours["parts"]), key=lambda p: -ours["parts"].get(p, 0))
    lines += [
        "",
        f"Ours takes {_ratio(ratio)} the bare dispatcher's CPU. Where it goes, by cProfile (the"
        " workload never waits, so its time is CPU time), each function's own time by part of"
        " the stack (a builtin's or an unplaced"
        " standard-library function's counted in its callers' parts). The profiler inflates"
        " every figure: compare parts, not totals.",
        "",
        row("part", "bare ms per update", "ours ms per update", "ours − bare"),
        rule(4),
    ]
    for part in parts:
        b, o = bare["parts"].get(part, 0.0), ours["parts"].get(part, 0.0)
        lines.append(row(part, f"{b:.3f}", f"{o:.3f}", f"{o - b:+.3f}"))
    lines.append(
        row(
            "**total**",
            f"{sum(bare['parts'].values()):.3f}",
            f"{sum(ours['parts'].values()):.3f}",
            f"{sum(ours['parts'].values()) - sum(bare['parts'].values()):+.3f}",
        )
    )
    lines += [
        "",
        "Ours, the functions with most own time:",
        "",
        row("function", "ms per update"),
        rule(2),
    ]
    lines += [row(f"`{name}`", f"{ms:.3f}") for name, ms in ours["functions"]]
    return lines, [
        Target("4: ours ÷ bare aiogram, CPU per update", _ratio(ratio), "≤ 1.5×", ratio <= 1.5)
    ]


def path_profile(found: Row, results: Results) -> Rendered:
    lines = [
        "",
        "## Where our process's CPU goes on the whole HTTP path",
        "",
        f"Our polling bot at {found['delay_ms']:g} ms each way, 64 users registering at once,"
        " its event loop's thread profiled (by that thread's own CPU clock) only while"
        f" {found['registrations']} users registered. Without the profiler, its CPU per"
        " registration is in the whole-path table above; under it, the process took"
        f" {found['cpu_ms']:.1f} ms per registration, {found['loop_cpu_ms']:.1f} in the event"
        " loop's thread (the rest: the executor's threads, running pymongo). The profiler"
        " inflates every figure: compare parts, not totals.",
        "",
        row("part", "loop-thread ms per registration"),
        rule(2),
        *(row(part, f"{ms:.2f}") for part, ms in found["parts"].items()),
        "",
        "The functions with most own time:",
        "",
        row("function", "ms per registration"),
        rule(2),
        *(row(f"`{name}`", f"{ms:.2f}") for name, ms in found["functions"]),
    ]
    return lines, []


def driver_ceiling(found: Row, results: Results) -> Rendered:
    ratio = found["ours_reg_s"] / found["raw_reg_s"]
    lines = [
        "",
        "## Local database: ours against the raw driver",
        "",
        "No proxy. Ours: the bot process through the whole HTTP path, 64 users registering at"
        " once. The ceiling: 64 threads of a plain pymongo loop sending, per registration, the"
        f" very commands ours sent for one ({', '.join(found['commands'])}; recorded at the"
        " proxy in the whole-path run, the user swapped), one after another. Median of the"
        " runs.",
        "",
        row("", "registrations/s"),
        rule(2),
        row("raw pymongo loop", f"{found['raw_reg_s']:.1f}"),
        row("ours", f"{found['ours_reg_s']:.1f}"),
        "",
        f"Ours reached {_ratio(ratio)} the ceiling; {found['failed']} registrations failed.",
    ]
    return lines, [
        Target(
            "4: ours ÷ the raw-driver ceiling, local database",
            _ratio(ratio),
            "≥ 0.8×",
            ratio >= 0.8,
        )
    ]


def growth(found: Row, results: Results) -> Rendered:
    stored = found["stored"]
    (few, few_row), (many, many_row) = sorted(stored.items())
    p50 = many_row["p50_ms"] / few_row["p50_ms"]
    lines = [
        "",
        "## Growth",
        "",
        "Users stored before measuring (copies of what the bot wrote for one user, inserted"
        " directly), local database; one user registering at a time:",
        "",
        row(
            "users stored",
            "round trips per registration",
            "p50 registration ms",
            "slowest command ms",
        ),
        rule(4),
        *(
            row(
                f"{count:,}",
                r["registration_rounds"],
                f"{r['p50_ms']:.1f}",
                f"{r['slowest_command_ms']:.0f}",
            )
            for count, r in sorted(stored.items())
        ),
        "",
        "The p50 runs to each step's answer; a conversation's write after the answer is"
        " in the slowest command. The test server (SecantusDB) scans the whole collection"
        " for a findAndModify with upsert whose document exists (measured alone: 760 ms"
        " with 50,000 documents, 1.5 ms without upsert), so that write grows with the"
        " users stored here; MongoDB finds it by the `_id` index. Not measured on a real"
        " MongoDB.",
    ]
    targets = [
        Target(
            f"6: round trips per registration, {few:,} → {many:,} users stored",
            f"{few_row['registration_rounds']} → {many_row['registration_rounds']}",
            "flat",
            few_row["registration_rounds"] == many_row["registration_rounds"],
        ),
        Target(
            f"6: p50 registration, {many:,} ÷ {few:,} users stored",
            _ratio(p50),
            "flat (≤ 1.25×)",
            p50 <= 1.25,
        ),
    ]
    memory = found["memory"]
    if memory:
        (n1, n2), (rss1, rss2) = memory["users"], memory["rss_mb"]
        per_user_kb = (rss2 - rss1) * 1024 / (n2 - n1)
        lines += [
            "",
            f"Bot process RSS after {n1:,} distinct users registered: {rss1:.1f} MB; after"
            f" {n2:,}: {rss2:.1f} MB ({rss2 - rss1:+.1f} MB, {per_user_kb:.2f} KB per further"
            " user). 64 were in flight throughout. What the bot keeps about recent users has"
            f" caps (docs/architecture.md, Memory), set here to {memory['kept']:,} users"
            " (RECENT_USERS_KEPT; 10,000 by default): past them, growth per user is what has"
            " no cap.",
        ]
        targets.append(
            Target(
                f"6: bot RSS growth from {n1:,} to {n2:,} users served",
                f"{per_user_kb:.2f} KB per user",
                "bounded by users in flight and fixed caps (≤ 1 KB per user, this bench's line"
                " for noise)",
                per_user_kb <= 1.0,
            )
        )
    return lines, targets


def chat_exit(found: Row, results: Results) -> Rendered:
    lines = [
        "",
        "## The terminal chat's exit",
        "",
        "`printf '/help\\n' | profilebot chat`, the installed command without any configuration"
        " (so on the embedded server), each run in a fresh folder. The clock runs from the"
        " answer's first byte on stdout to the process's exit: the executor, the client and the"
        " embedded server stopping with its data flushed, then the interpreter's way out."
        f" Median of {found['runs']} runs.",
        "",
        row("", "seconds"),
        rule(2),
        row("launch → answer", f"{found['launch_to_answer_s']:.2f}"),
        row("answer → exit", f"{found['answer_to_exit_s']:.2f}"),
        row("answer → exit, slowest run", f"{found['slowest_answer_to_exit_s']:.2f}"),
    ]
    return lines, [
        Target(
            "5: piped chat, answer → exit",
            f"{found['answer_to_exit_s']:.2f} s",
            f"≤ {found['target_s']:g} s",
            found["met"],
        )
    ]


def steps(found: Row, results: Results) -> Rendered:
    local, mongo = found["local"], found["mongo"]
    lines = [
        "",
        "## Round trips per step, in process",
        "",
        "One user's steps fed straight to the dispatcher, counted by pymongo's command"
        " monitoring: the commands, and the sequential round trips they make. Local: one"
        " process's own locks; leases: `EVENT_ISOLATION=mongo`.",
        "",
        row(
            "step",
            "commands, local",
            "round trips, local",
            "commands, leases",
            "round trips, leases",
        ),
        rule(5),
    ]
    for one, leased in zip(local, mongo, strict=True):
        lines.append(
            row(
                f"`{one['step']}`",
                ", ".join(one["commands"]) or "none",
                one["rounds"],
                ", ".join(leased["commands"]) or "none",
                leased["rounds"],
            )
        )
    return lines, []


def responsiveness(found: Row, results: Results) -> Rendered:
    lines = [
        "",
        "## Responsiveness, in process",
        "",
        "/help latency and event-loop lag while 64 users run database-bound scripts (the"
        f" registration, /me, renaming and cancelling), the database {found['delay_ms']:g} ms"
        " away each way. The three"
        " variants run our adapters on different waits: our executor, `asyncio.to_thread`,"
        " `AsyncMongoClient`.",
        "",
        row(
            "variant",
            "/help p50 ms",
            "/help p99 ms",
            "loop lag p50 ms",
            "p99 ms",
            "max ms",
            "probes",
        ),
        rule(7),
    ]
    for variant, r in found["variants"].items():
        lines.append(
            row(
                VARIANT_NAMES[variant],
                *(f"{r[k]:.1f}" for k in ("help_p50", "help_p99")),
                *(f"{r[k]:.2f}" for k in ("lag_p50", "lag_p99", "lag_max")),
                r["probes"],
            )
        )
    ours = found["variants"]["ours"]
    return lines, [
        Target(
            "/help p99 under load, in process",
            f"{ours['help_p99']:.1f} ms",
            "≤ 20 ms",
            ours["help_p99"] <= 20,
        ),
        Target(
            "event-loop lag p99 under load",
            f"{ours['lag_p99']:.2f} ms",
            "≤ 5 ms",
            ours["lag_p99"] <= 5,
        ),
    ]


def webhook_scaling(found: Row, results: Results) -> Rendered:
    runs = list(found["runs"].values())
    one = {r["users"]: r["updates_s"] for r in runs if r["processes"] == 1}
    lines = [
        "",
        "## Webhook processes on one database",
        "",
        f"`profilebot webhook` processes under leases, the database {found['delay_ms']:g} ms away"
        " each way, each update posted over HTTP by a stand-in"
        " for Telegram and a load balancer, the 7-step script (/start, name, /me, /rename, name,"
        " /rename, /cancel); all processes share this machine's cores, so this shows what the"
        " coordination costs, not how far more machines would scale. A non-2xx attempt is"
        " delivered again; an apology (the database did not answer in time) still counts as an"
        " update.",
        "",
        row(
            "processes",
            "users at once",
            "updates/s",
            "÷ one process",
            "non-2xx attempts",
            "apologies",
        ),
        rule(6),
    ]
    for r in sorted(runs, key=lambda r: (r["users"], r["processes"])):
        lines.append(
            row(
                r["processes"],
                r["users"],
                f"{r['updates_s']:.1f}",
                f"{r['updates_s'] / one[r['users']]:.2f}",
                r["non_2xx"],
                r["apologies"],
            )
        )
    return lines, []


def plot(found: Row, path: Path) -> None:
    designs = found["designs"]
    figure, axis = plt.subplots(figsize=(7, 4))
    names = [DESIGN_NAMES[d] for d in designs]
    axis.bar(names, [designs[d]["reg_s"] for d in designs], color=["C0", "C1", "C2"])
    axis.axhline(found["bound_reg_s"], color="grey", linestyle="--", label="our latency bound")
    axis.set_ylabel("registrations/s")
    axis.set_title(
        f"{found['in_flight']} users at once, MongoDB {found['delay_ms']:g} ms away each way"
    )
    axis.legend()
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
