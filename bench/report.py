"""bench/results.md and bench/throughput.png from one run's figures."""

import os
import platform
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.harness import LEVELS
from bench.variants import NAMES, VARIANTS


def row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_report(results: dict[str, Any], out: Path, *, delay_ms: float, minutes: float) -> None:
    proxy, direct, ceiling = results["proxy"], results["direct"], results["ceiling"]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {platform.node() or 'this machine'}: {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}, latency proxy {delay_ms:g} ms each way;"
        f" the run took {minutes:.1f} min. A shared, noisy machine: compare the ratios within"
        " this run, not the absolute numbers across runs.",
        "",
        "## Throughput (updates/s, the 7-step mix: /start, name, /me, /rename, name, /rename,"
        " /cancel)",
        "",
        "![throughput vs concurrency](throughput.png)",
        "",
        "| where | C | "
        + " | ".join(NAMES[v] for v in VARIANTS)
        + " | ours ÷ async | ours ÷ to_thread |",
        "|---|---|" + "---|" * (len(VARIANTS) + 2),
    ]
    for where, table in (("proxy", proxy), ("direct", direct)):
        for level in LEVELS:
            cells = [f"{table[(v, level)]['updates_s']:.0f}" for v in VARIANTS]
            ours = table[("ours", level)]["updates_s"]
            ratio_async = ours / table[("async", level)]["updates_s"]
            ratio_to_thread = ours / table[("to_thread", level)]["updates_s"]
            lines.append(
                f"| {where} | {level} | "
                + " | ".join(cells)
                + f" | {ratio_async:.2f}× | {ratio_to_thread:.2f}× |"
            )
    lines += [
        "",
        "Raw pymongo ceiling without the proxy (find_one + update_one loops, up to 64 threads)"
        " against ours' MongoDB commands/s in the same run:",
        "",
        "| C | raw ops/s | ours ops/s | ours ÷ raw |",
        "|---|---|---|---|",
    ]
    for level in LEVELS:
        ours_ops = direct[("ours", level)]["ops_s"]
        lines.append(
            row(
                level,
                f"{ceiling[level]:.0f}",
                f"{ours_ops:.0f}",
                f"{ours_ops / ceiling[level]:.2f}×",
            )
        )
    lines += [
        "",
        "## Responsiveness behind the proxy (/help while 64 users run scripts)",
        "",
        "| variant | /help p50 ms | /help p99 ms | loop lag p50 ms | p99 ms | max ms | probes |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, r in results["responsiveness"].items():
        lines.append(
            row(
                NAMES[variant],
                *(f"{r[k]:.1f}" for k in ("help_p50", "help_p99")),
                *(f"{r[k]:.2f}" for k in ("lag_p50", "lag_p99", "lag_max")),
                r["probes"],
            )
        )
    lines += [
        "",
        "## MongoDB round trips per update (command monitoring)",
        "",
        "| step | round trips |",
        "|---|---|",
    ]
    lines += [f"| `{step}` | {count} |" for step, count in results["round_trips"]]
    lines += isolation_section(results)
    lines += [
        "",
        "## Cost growth (direct, ours)",
        "",
        row("registered users", "p50 ms", "p99 ms", "round trips per update", "user lookup plan"),
        "|---|---|---|---|---|",
    ]
    for registered, r in results["growth"].items():
        lines.append(
            row(
                f"{registered:,}",
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['trips']:.2f}",
                r["plan"],
            )
        )
    memory = results["memory"]
    lines += [
        "",
        f"Bot process RSS: {memory['before_mb']:.0f} MB after warm-up, {memory['after_mb']:.0f} MB"
        f" with {memory['conversations']:,} open conversations (their state lives in MongoDB;"
        " the bench process also holds the recorded replies).",
        "",
        "## Targets, judged on this run",
        "",
    ]
    lines += targets(results)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot(results, out / "throughput.png", delay_ms)


def isolation_section(results: dict[str, Any]) -> list[str]:
    """What cross-process safety costs: leases against one process's locks, and several
    webhook processes against one, each pair measured back to back."""
    isolation = results["isolation"]
    lines = [
        "",
        "## The cost of cross-process safety (behind the proxy, ours)",
        "",
        "`EVENT_ISOLATION=local` (one process's locks) against `mongo` (conversation leases),",
        "in one process, run back to back at each level:",
        "",
        row("users at once", "local updates/s", "mongo updates/s", "mongo ÷ local"),
        "|---|---|---|---|",
    ]
    levels = sorted({level for _, level in isolation})
    for level in levels:
        local = isolation[("local", level)]["updates_s"]
        mongo = isolation[("mongo", level)]["updates_s"]
        lines.append(row(level, f"{local:.1f}", f"{mongo:.1f}", f"{mongo / local:.2f}"))
    local_trips = dict(results["round_trips"])
    lines += [
        "",
        row("step", "round trips, local", "round trips, mongo"),
        "|---|---|---|",
    ]
    lines += [
        row(f"`{step}`", local_trips.get(step, "-"), count)
        for step, count in results["isolation_round_trips"]
    ]
    processes = results.get("processes")
    if processes:
        lines += [
            "",
            "`profilebot webhook` processes on one database, each update posted over HTTP by a",
            "stand-in for Telegram and a load balancer, every user's next message sent once the",
            "previous one was answered (a non-2xx attempt is delivered again; an apology is a",
            "reply saying the database did not answer in time, yet it counts as an update):",
            "",
            row(
                "processes",
                "users at once",
                "updates/s",
                "÷ one process",
                "non-2xx attempts",
                "apologies",
            ),
            "|---|---|---|---|---|---|",
        ]
        one = {level: r["updates_s"] for (n, level), r in processes.items() if n == 1}
        for (n, level), r in sorted(processes.items()):
            lines.append(
                row(
                    n,
                    level,
                    f"{r['updates_s']:.1f}",
                    f"{r['updates_s'] / one[level]:.2f}",
                    r.get("non_2xx", "-"),
                    r.get("apologies", "-"),
                )
            )
    return lines


def targets(results: dict[str, Any]) -> list[str]:
    proxy, direct, ceiling = results["proxy"], results["direct"], results["ceiling"]
    found = []
    for level in (32, 128):
        ours = proxy[("ours", level)]["updates_s"]
        vs_async = ours / proxy[("async", level)]["updates_s"]
        vs_to_thread = ours / proxy[("to_thread", level)]["updates_s"]
        found.append(
            f"- proxy, C={level}: {vs_async:.2f}× the AsyncMongoClient yardstick (≥ 0.9×):"
            f" {mark(vs_async >= 0.9)}"
        )
        found.append(
            f"- proxy, C={level}: {vs_to_thread:.2f}× the to_thread variant (≥ 4×):"
            f" {mark(vs_to_thread >= 4)}"
        )
    ours = results["responsiveness"]["ours"]
    found.append(
        f"- /help p99 under load: {ours['help_p99']:.1f} ms (≤ 20 ms):"
        f" {mark(ours['help_p99'] <= 20)}"
    )
    found.append(f"- loop lag p99: {ours['lag_p99']:.2f} ms (≤ 5 ms): {mark(ours['lag_p99'] <= 5)}")
    for level in (32, 128):
        ratio = direct[("ours", level)]["ops_s"] / ceiling[level]
        found.append(
            f"- direct, C={level}: {ratio:.2f}× the raw-driver ceiling (≥ 0.8×):"
            f" {mark(ratio >= 0.8)}"
        )
    budget = {"/help": 1, "/me": 2}
    worst = all(count <= budget.get(step, 3) for step, count in results["round_trips"])
    found.append(f"- round trips within /help ≤ 1, /me ≤ 2, others ≤ 3: {mark(worst)}")
    return found


def plot(results: dict[str, Any], path: Path, delay_ms: float) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, where, title in (
        (axes[0], "proxy", f"behind a {delay_ms:g} ms-each-way proxy"),
        (axes[1], "direct", "direct (loopback)"),
    ):
        for variant in VARIANTS:
            axis.plot(
                LEVELS,
                [results[where][(variant, c)]["updates_s"] for c in LEVELS],
                marker="o",
                label=NAMES[variant],
            )
        axis.set_xscale("log", base=2)
        axis.set_xticks(LEVELS, [str(c) for c in LEVELS])
        axis.set_xlabel("concurrent users")
        axis.set_ylabel("updates/s")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
