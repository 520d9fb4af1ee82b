"""The alert rules, their promtool tests, their runbooks and the dashboard grow together: a
test here names the alert without a test or a runbook, or the metric nobody exports or
nobody shows. `make ops-test` checks the same files against a real Prometheus."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from presentation.bootstrap.metrics import Metrics

ROOT = Path(__file__).parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
ALERT_TESTS = PROMETHEUS / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "profilebot.json"
OPERATIONS = ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\b(profilebot_\w+|up)\b")


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_names() -> list[str]:
    return [rule["alert"] for rule in alert_rules()]


def alert_cases() -> list[dict[str, Any]]:
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    return [case for test in tests for case in test.get("alert_rule_test", [])]


def panel_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def all_metrics() -> Metrics:
    """A process's metrics, with what only a polling process has (the poller gauge)."""
    metrics = Metrics()
    metrics.set_poller_active(False)
    return metrics


def exported_samples() -> set[str]:
    """Every sample name a process can export."""
    names = set()
    for family in all_metrics().registry.collect():
        names.add(family.name)
        names |= {sample.name for sample in family.samples}
        if family.type == "histogram":  # buckets appear only once observed with labels
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def runbook_sections() -> list[str]:
    """The `### Name` headings under `## Alerts` in docs/operations.md."""
    text = OPERATIONS.read_text().split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^### (\S+)$", text, flags=re.MULTILINE)


def test_the_files_hold_something_to_check() -> None:
    assert len(alert_names()) >= 10
    assert len(panel_expressions()) >= 10


@pytest.mark.parametrize("alert", alert_names())
def test_every_alert_has_a_promtool_test_where_it_fires_and_one_where_it_does_not(
    alert: str,
) -> None:
    outcomes = {
        bool(case.get("exp_alerts")) for case in alert_cases() if case["alertname"] == alert
    }

    assert outcomes == {True, False}


def test_no_promtool_test_names_an_alert_that_does_not_exist() -> None:
    assert {case["alertname"] for case in alert_cases()} - set(alert_names()) == set()


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_summary_a_severity_and_links_its_runbook(rule: dict[str, Any]) -> None:
    assert rule["annotations"]["summary"]
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_the_runbook_sections_are_exactly_the_alerts_in_order() -> None:
    assert runbook_sections() == alert_names()


@pytest.mark.parametrize(
    ("where", "expression"),
    [("alert " + rule["alert"], rule["expr"]) for rule in alert_rules()]
    + [("dashboard", expression) for expression in panel_expressions()],
)
def test_every_metric_read_is_one_the_bot_exports(where: str, expression: str) -> None:
    read = set(METRIC.findall(expression))

    assert read  # `up` is Prometheus' own, for every target
    assert read - exported_samples() - {"up"} == set()


def test_every_metric_the_bot_exports_is_on_the_dashboard() -> None:
    shown = {name for expression in panel_expressions() for name in METRIC.findall(expression)}
    hidden = [
        family.name
        for family in all_metrics().registry.collect()
        if not shown & {family.name + suffix for suffix in ("", "_total", "_bucket", "_count")}
    ]

    assert hidden == []


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="no promtool (make ops-test installs it)"
)
def test_the_promtool_tests_pass() -> None:
    result = subprocess.run(
        ["promtool", "test", "rules", ALERT_TESTS.name],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
