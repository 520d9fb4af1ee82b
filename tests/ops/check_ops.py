"""`make ops-test`: the alerts and the dashboard against a real Prometheus scraping real bots.

Not part of `make test`: it installs Debian's `prometheus` package (server and promtool) if
missing, which needs root, and takes a few minutes. Steps, each timed:

1. `promtool check rules` and `promtool test rules` on deploy/prometheus/;
2. SecantusDB, a local Bot API stand-in, `profilebot webhook` (LOG_FORMAT=json) and
   `profilebot polling` with HTTP_PORT, both on that database, ready;
3. Prometheus scraping both every second and evaluating a copy of alerts.yml every second,
   its `for:` shortened to FOR (nothing else changed);
4. conversations through both bots;
5. every dashboard panel's query is valid and returns series (`$__rate_interval` → 1m);
6. the fault: SecantusDB stopped and messages sent; ProfilebotNotReady goes pending;
7. every alert's rule was evaluated without error, its expression is a valid query, and each
   metric it reads returns series;
8. the logs: the webhook bot's lines are JSON objects with the fields, and neither bot's log
   holds the token or the webhook secret.

The system service the Debian package installs is never started: the Prometheus here is
a process of this script, on a loopback port, with its data in a temporary folder.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bench.webhook_delivery import SECRET_HEADER, text_update
from infrastructure.embedded_mongo import EmbeddedMongo, free_loopback_port
from tests.e2e.fake_bot_api import FakeBotApi
from tests.e2e.profilebot_process import BotProcess, clean_env

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "profilebot.json"
TOKEN = "4242:ops-test-SECRET-token"
SECRET = "ops-test-webhook-secret"
JOB = "profilebot"
FOR = "20s"
"""Each alert's `for:` in the copy Prometheus evaluates, so that the fault's alert goes
pending, and could fire, within the run."""
FAULT_ALERT = "ProfilebotNotReady"
METRIC = re.compile(r"\b(profilebot_\w+|up)\b")
POLICY = Path("/usr/sbin/policy-rc.d")

T = TypeVar("T")
timings: list[tuple[str, float]] = []


def step(name: str, action: Callable[[], T]) -> T:
    print(f"\n== {name}", flush=True)
    started = time.monotonic()
    result = action()
    seconds = time.monotonic() - started
    timings.append((name, seconds))
    print(f"   done in {seconds:.1f} s", flush=True)
    return result


def require(condition: bool, failure: object) -> None:
    """A check that fails the whole run (not `assert`: `-O` drops those)."""
    if not condition:
        raise SystemExit(f"ops-test FAILED: {failure}")


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        require(time.monotonic() < deadline, f"{what} did not happen in {seconds:g} s")
        time.sleep(0.5)


def install_prometheus() -> None:
    if shutil.which("prometheus") and shutil.which("promtool"):
        print("   already installed:", _version("prometheus"))
        return
    require(os.geteuid() == 0, "installing Debian's prometheus package needs root")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    # The package enables a system service; policy-rc.d's 101 keeps it from being started.
    temporary_policy = not POLICY.exists()
    if temporary_policy:
        POLICY.write_text("#!/bin/sh\nexit 101\n")
        POLICY.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"],
            check=True,
            env=env,
        )
    finally:
        if temporary_policy:
            POLICY.unlink()
    print("   installed:", _version("prometheus"))


def _version(program: str) -> str:
    found = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)
    return (found.stdout or found.stderr).splitlines()[0]


def promtool() -> None:
    for command in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run(
            ["promtool", *command], cwd=RULES, capture_output=True, text=True, check=False
        )
        output = (result.stdout + result.stderr).strip()
        require(result.returncode == 0, output)
        print("   promtool", " ".join(command), "→", output.splitlines()[-1].strip())


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read()) if "json" in response.headers["Content-Type"] else None


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


class Bots:
    """A webhook bot and a polling bot on one database and one Bot API stand-in."""

    def __init__(self, folder: Path, mongo: EmbeddedMongo, api: FakeBotApi) -> None:
        self.api = api
        self.webhook_port, self.polling_port = free_loopback_port(), free_loopback_port()
        common = {
            "BOT_TOKEN": TOKEN,
            "MONGO_URI": mongo.uri,
            "MONGO_DB": "ops_test",
            "MONGO_OPERATION_TIMEOUT_MS": "1000",
        }
        self.webhook = BotProcess(
            folder,
            clean_env(
                **common,
                TELEGRAM_API_URL=api.url_for("webhook"),
                WEBHOOK_HOST="127.0.0.1",
                WEBHOOK_PORT=str(self.webhook_port),
                WEBHOOK_SECRET=SECRET,
                LOG_FORMAT="json",
            ),
            name="webhook",
            command="webhook",
        )
        self.polling = BotProcess(
            folder,
            clean_env(
                **common,
                TELEGRAM_API_URL=api.url_for("polling"),
                HTTP_HOST="127.0.0.1",
                HTTP_PORT=str(self.polling_port),
            ),
            name="polling",
        )
        self._update_ids = iter(range(1_000_000, 2_000_000))

    @property
    def targets(self) -> list[str]:
        return [f"127.0.0.1:{self.webhook_port}", f"127.0.0.1:{self.polling_port}"]

    def wait_until_ready(self) -> None:
        for target in self.targets:
            wait_until(_ready(target), 120, f"{target} ready")
        print("   /health/ready: 200 on", ", ".join(self.targets))

    def post(self, user_id: int, text: str) -> int:
        """`text` from `user_id` to the webhook, as Telegram delivers it; the HTTP status."""
        body = json.dumps(text_update(next(self._update_ids), user_id, text)).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.webhook_port}/telegram/webhook",
            data=body,
            headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        for bot in (self.webhook, self.polling):
            if bot.process.poll() is None:
                code = bot.terminate(timeout=30)
                print(f"   {bot.log.stem}: exit code {code} after SIGTERM")


def _ready(target: str) -> Callable[[], bool]:
    return lambda: status(f"http://{target}/health/ready") == 200


def converse(bots: Bots) -> None:
    for user_id in range(501, 506):
        for text in ("/start", f"Ops User {user_id}", "/me", "/help"):
            require(bots.post(user_id, text) == 200, f"webhook {text!r}")
    print("   5 users registered through the webhook:", bots.api.replies_to(505)[1][:40], "…")
    for user_id in range(601, 606):
        for text in ("/start", f"Poll User {user_id}", "/me"):
            bots.api.send_text(user_id, text)
        bots.api.wait_for_reply(user_id, "Name: Poll User")
    print("   5 users registered through polling")


class Prometheus:
    """Debian's Prometheus as a child process on a loopback port."""

    def __init__(self, folder: Path, targets: list[str]) -> None:
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        rules = yaml.safe_load((RULES / "alerts.yml").read_text())
        for group in rules["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = FOR
        (folder / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["alerts.yml"],
            "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": targets}]}],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.log = folder / "prometheus.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_until_scraping(self, targets: int) -> None:
        wait_until(lambda: status(f"{self.url}/-/ready") == 200, 60, "Prometheus ready")
        wait_until(lambda: len(self.query(f'up{{job="{JOB}"}} == 1')) == targets, 60, "targets up")
        print(f"   Prometheus {self.url}: {targets} targets up")

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            return http(url)
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def query(self, expression: str) -> list[dict[str, Any]]:
        answer = self.api("query", query=expression)
        require(answer["status"] == "success", f"{expression}: {answer.get('error')}")
        return list(answer["data"]["result"])

    def alerts(self) -> dict[str, str]:
        """Active alerts: name → state (`pending` or `firing`)."""
        return {a["labels"]["alertname"]: a["state"] for a in self.api("alerts")["data"]["alerts"]}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def check_dashboard(prometheus: Prometheus) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [panel for panel in dashboard["panels"] if panel.get("targets")]
    for panel in panels:
        for target in panel["targets"]:
            expression = target["expr"].replace("$__rate_interval", "1m")
            series = prometheus.query(expression)
            require(bool(series), f"panel {panel['title']!r}: no series for {expression}")
            print(f"   {len(series):3d} series  {panel['title']}: {expression}")
    print(f"   {len(panels)} panels, every query valid and returning series")


def fault(mongo: EmbeddedMongo, bots: Bots, prometheus: Prometheus) -> None:
    mongo.stop()
    print("   SecantusDB stopped")
    started = time.monotonic()
    for user_id in range(501, 504):
        print(f"   webhook /me during the outage: HTTP {bots.post(user_id, '/me')}")
    for user_id in range(601, 604):
        bots.api.send_text(user_id, "/me")
    what = f"{FAULT_ALERT} pending (ready: {prometheus.query('profilebot_ready')})"
    wait_until(lambda: FAULT_ALERT in prometheus.alerts(), 90, what)
    state = prometheus.alerts()[FAULT_ALERT]
    print(f"   {FAULT_ALERT} {state} {time.monotonic() - started:.1f} s after the stop")
    print("   active alerts now:", prometheus.alerts())


def check_alerts(prometheus: Prometheus) -> None:
    groups = prometheus.api("rules", type="alert")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    require(len(rules) >= 10, rules)
    for rule in rules:
        require(rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}")
        prometheus.query(rule["query"])  # valid as a query too
        counts = {}
        for metric in sorted(set(METRIC.findall(rule["query"]))):
            counts[metric] = len(prometheus.query(f'{{__name__="{metric}"}}'))
            require(counts[metric] > 0, f"{rule['name']}: no series of {metric}")
        state = rule["state"]
        print(f"   {rule['name']:32s} health ok, {state:8s} series read: {counts}")
    print(f"   {len(rules)} alerts evaluated without error, every metric they read has series")


def check_logs(bots: Bots) -> None:
    lines = bots.webhook.output().splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except ValueError:
            require(False, f"webhook log line {number} is not JSON: {line[:200]}")
    for record in records:
        require({"time", "level", "logger", "message"} <= set(record), f"fields missing: {record}")
    updates = [r for r in records if r["logger"] == "profilebot.updates"]
    fielded = all("update_id" in r and "outcome" in r for r in updates)
    require(bool(updates) and fielded, updates[:3])
    outcomes = sorted({r["outcome"] for r in updates})
    print(f"   webhook: {len(records)} lines, each a JSON object with the fields;")
    print(f"   {len(updates)} update lines with update_id and outcome, outcomes {outcomes}")
    for bot in (bots.webhook, bots.polling):
        output = bot.output()
        require(TOKEN.split(":")[1] not in output, f"the token is in {bot.log}")
        require(SECRET not in output, f"the webhook secret is in {bot.log}")
    print("   neither log holds the token or the webhook secret")


@contextmanager
def running(stop: Callable[[], None]) -> Iterator[None]:
    try:
        yield
    finally:
        stop()


def main() -> int:
    started = time.monotonic()
    step("install Debian's prometheus (server and promtool)", install_prometheus)
    step("promtool: check the rules, run their unit tests", promtool)
    with tempfile.TemporaryDirectory(prefix="ops-test-") as temporary, ExitStack() as stack:
        folder = Path(temporary)
        mongo = EmbeddedMongo(data_dir=None)
        step("start SecantusDB", lambda: mongo.start(timeout_seconds=60))
        stack.callback(mongo.stop)
        api = stack.enter_context(FakeBotApi(TOKEN))
        bots = Bots(folder, mongo, api)
        stack.enter_context(running(bots.stop))
        step("start a webhook bot and a polling bot; both ready", bots.wait_until_ready)
        prometheus = Prometheus(folder, bots.targets)
        stack.enter_context(running(prometheus.stop))
        step("start Prometheus; both bots scraped", lambda: prometheus.wait_until_scraping(2))
        step("conversations through both bots", lambda: converse(bots))
        time.sleep(3)  # a few scrapes after the conversations
        step("every dashboard panel's query", lambda: check_dashboard(prometheus))
        step(
            f"fault: SecantusDB stopped; {FAULT_ALERT} pending",
            lambda: fault(mongo, bots, prometheus),
        )
        step("every alert's rule and the metrics it reads", lambda: check_alerts(prometheus))
        step("stop the bots", bots.stop)
        step("the logs: JSON lines, no secrets", lambda: check_logs(bots))
    print("\nops-test passed")
    for name, seconds in timings:
        print(f"  {seconds:7.1f} s  {name}")
    print(f"  {time.monotonic() - started:7.1f} s  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
