"""The deployment files agree with the code: docker-compose.yml (services, ports, settings, one
image, scalable), RabbitMQ's definitions (vhost, users, permissions as `routing.provision` grants
them, policies), PostgreSQL's init script, and Prometheus's configuration and alert rules (checked
and unit-tested by promtool, Debian package `prometheus`).

No Docker engine is needed: the files are read, not run. Without promtool the promtool tests skip,
and fail when MOTCUA_REQUIRE_PROMTOOL=1 (CI).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml
from kombu import Exchange, Queue
from motcua_kit.auth import ROLES
from motcua_kit.consumer import EventConsumer, dead_letter_queue_name
from motcua_kit.outbox import command_declarations
from prometheus_client.metrics import MetricWrapperBase

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
SERVICES = ("intake", "routing", "notification", "reporting")
VHOST = "motcua"
BUS_AGENCY = "CA.H38.08"
REALM = "motcua"  # Keycloak's realm (deploy/keycloak/motcua-realm.json)
KEYCLOAK_URL = "http://localhost:8080"
# What a metrics family of RabbitMQ's /metrics/detailed endpoint exports (rabbitmq_prometheus,
# collectors/prometheus_rabbitmq_core_metrics_collector.erl).
VIETNAMESE_LETTER = re.compile("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệịỉọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơư]")
RABBITMQ_DETAILED_FAMILIES = {
    "queue_coarse_metrics": {
        "rabbitmq_detailed_queue_messages_ready",
        "rabbitmq_detailed_queue_messages_unacked",
        "rabbitmq_detailed_queue_messages",
        "rabbitmq_detailed_queue_process_reductions_total",
    },
    "queue_consumer_count": {"rabbitmq_detailed_queue_consumers"},
}


# --- helpers ---------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    return load_yaml(REPO / "docker-compose.yml")


def definitions() -> dict[str, Any]:
    return json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text(encoding="utf-8"))


def config_text(service: str) -> str:
    return (REPO / "services" / service / "config.yml").read_text(encoding="utf-8")


def config_default(service: str, variable: str) -> str:
    """The default a service's config.yml gives `${VARIABLE:default}`."""
    found = re.search(r"\$\{" + re.escape(variable) + r":([^}]*)\}", config_text(service))
    assert found, f"services/{service}/config.yml does not read {variable}"
    return found.group(1)


def config_variables(service: str) -> set[str]:
    return set(re.findall(r"\$\{(\w+):", config_text(service)))


def default_port(service: str) -> int:
    return int(config_default(service, f"{service.upper()}_PORT"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def rabbit_password_matches(password_hash: str, password: str) -> bool:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt[4] + sha256(salt + password))."""
    raw = base64.b64decode(password_hash)
    return hashlib.sha256(raw[:4] + password.encode()).digest() == raw[4:]


def user(defs: dict[str, Any], name: str) -> dict[str, Any]:
    found = [u for u in defs["users"] if u["name"] == name]
    assert len(found) == 1, f"definitions.json: user {name} {len(found)} times"
    return found[0]


def permission(defs: dict[str, Any], name: str) -> dict[str, Any]:
    found = [p for p in defs["permissions"] if p["user"] == name and p["vhost"] == VHOST]
    assert len(found) == 1, f"definitions.json: permissions of {name} on {VHOST}: {found}"
    return found[0]


def bus_agency_user() -> str:
    data = json.loads(
        (REPO / "services/routing/routing/data/agencies.json").read_text(encoding="utf-8")
    )
    (agency,) = [a for a in data["agencies"] if a["code"] == BUS_AGENCY]
    assert agency["mode"] == "bus"
    return str(agency["amqp_user"])


def consumer_queues(service: str) -> dict[str, EventConsumer]:
    """Every queue a service consumes, named as the kit names it, with its entrypoint."""
    module = importlib.import_module(f"{service}.service")
    (cls,) = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and getattr(c, "name", None) == service
    ]
    found = {}
    for attr, fn in vars(cls).items():
        for entrypoint in getattr(fn, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventConsumer):
                name = (
                    entrypoint.queue_name
                    or f"evt-{entrypoint.source_service}-{entrypoint.event_type}--{service}.{attr}"
                )
                found[name] = entrypoint
    assert found, f"{service} consumes nothing?"
    return found


def policy_for(defs: dict[str, Any], queue: str) -> dict[str, Any] | None:
    """The policy RabbitMQ applies to a queue: the matching one of highest priority."""
    matching = [
        p
        for p in defs["policies"]
        if p["vhost"] == VHOST
        and p["apply-to"] in ("queues", "all", "quorum_queues")
        and re.search(p["pattern"], queue)
    ]
    if not matching:
        return None
    top = max(p["priority"] for p in matching)
    best = [p for p in matching if p["priority"] == top]
    assert len(best) == 1, f"{queue}: policies of equal priority {[p['name'] for p in best]}"
    return best[0]


def promtool() -> str:
    path = shutil.which("promtool")
    if path:
        return path
    if os.environ.get("MOTCUA_REQUIRE_PROMTOOL") == "1":
        pytest.fail("promtool is missing: apt-get install prometheus (Debian's package has it)")
    pytest.skip("promtool is missing (Debian package prometheus)")


def run_promtool(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 (promtool with fixed arguments)
        [promtool(), *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS_DIR / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def without_strings(expr: str) -> str:
    """A PromQL expression without its string literals (label values, regexes)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)


def exported_metric_names() -> set[str]:
    """Every sample name the metrics modules export (a counter `x` is exposed as `x_total`)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created"),
    }
    modules = ["motcua_kit.metrics"] + [
        f"{path.parent.name}.metrics" for path in sorted(REPO.glob("services/*/*/metrics.py"))
    ]
    assert len(modules) == 1 + len(SERVICES)
    names: set[str] = set()
    for module_name in modules:
        for obj in vars(importlib.import_module(module_name)).values():
            if isinstance(obj, MetricWrapperBase):
                for metric in obj.describe():
                    names.update(metric.name + s for s in suffixes[metric.type])
    return names


def scrape_jobs() -> dict[str, dict[str, Any]]:
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    return {job["job_name"]: job for job in config["scrape_configs"]}


def nginx_servers() -> dict[int, str]:
    """The gateway's `listen` port -> the upstream `host:port` it passes requests to."""
    text = (DEPLOY / "gateway" / "nginx.conf").read_text(encoding="utf-8")
    found = {}
    for block in re.findall(r"server\s*\{(.*?)\n    \}", text, re.S):
        listen = re.search(r"listen (\d+);", block)
        target = re.search(r"set \$(\w+) ([\w.-]+:\d+);\s*proxy_pass http://\$(\w+);", block)
        assert listen and target and target.group(1) == target.group(3), block
        found[int(listen.group(1))] = target.group(2)
    return found


def published(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs of a compose service's `ports`."""
    pairs = set()
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


# --- Prometheus: promtool ------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check() -> None:
    """`promtool check rules` accepts alerts.yml."""
    output = run_promtool("check", "rules", "alerts.yml")
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_prometheus_config_passes_promtool_check() -> None:
    """`promtool check config` accepts prometheus.yml and the rule file it names."""
    output = run_promtool("check", "config", "prometheus.yml")
    assert "prometheus.yml is valid prometheus config file syntax" in output
    assert "SUCCESS: 1 rule files found" in output


def test_alerts_fire_exactly_as_their_unit_tests_expect() -> None:
    """`promtool test rules alerts_test.yml`: each alert fires on the series that should raise it,
    with its labels and both languages' annotations, and stays silent on the others."""
    output = run_promtool("test", "rules", "alerts_test.yml")
    assert "SUCCESS" in output


# --- Prometheus: what the files say ----------------------------------------------------------


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    """Each alert of alerts.yml has a promtool case where it fires and one where it does not."""
    tests = load_yaml(PROMETHEUS_DIR / "alerts_test.yml")
    assert tests["rule_files"] == ["alerts.yml"]
    fired: set[str] = set()
    silent: set[str] = set()
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names == {
        "MotcuaServiceDown",
        "MotcuaDeadLetters",
        "MotcuaOutboxBacklog",
        "MotcuaOverdueRising",
        "MotcuaNotificationsFailing",
        "MotcuaNotificationsStuck",
        "MotcuaWebhookSuspended",
        "MotcuaReportingLag",
        "MotcuaUnroutedCommands",
        "MotcuaBusAgencyOffline",
    }
    assert fired == names
    assert silent == names


def test_every_alert_speaks_vietnamese_and_english() -> None:
    """Every alert has a severity and a summary and description in Vietnamese and in English."""
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        notes = rule["annotations"]
        assert set(notes) == {"summary", "description", "summary_en", "description_en"}
        vietnamese = notes["summary"] + notes["description"]
        assert VIETNAMESE_LETTER.search(vietnamese), rule["alert"]
        assert notes["summary_en"].isascii(), rule["alert"]
        assert notes["description_en"].isascii(), rule["alert"]


def test_alerts_use_only_metrics_the_code_exports() -> None:
    """Every motcua_* name in alerts.yml is exported by a metrics module; every rabbitmq_* name
    by a family prometheus.yml asks RabbitMQ's detailed endpoint for; `up` by a job it scrapes."""
    exported = exported_metric_names()
    detailed = scrape_jobs()["rabbitmq-queues"]
    assert detailed["metrics_path"] == "/metrics/detailed"
    assert detailed["params"]["vhost"] == [VHOST]
    from_rabbitmq = set().union(
        *(RABBITMQ_DETAILED_FAMILIES[f] for f in detailed["params"]["family"])
    )
    used_motcua, used_rabbitmq = set(), set()
    for rule in alert_rules():
        expr = without_strings(rule["expr"])
        used_motcua |= set(re.findall(r"\bmotcua_\w+", expr))
        used_rabbitmq |= set(re.findall(r"\brabbitmq_\w+", expr))
        leftover = set(re.findall(r"\b[a-z_]+(?=\s*[{\[])", expr)) - used_motcua - used_rabbitmq
        assert leftover <= {"up"}, (rule["alert"], leftover)
    assert used_motcua - exported == set()
    assert used_rabbitmq - from_rabbitmq == set()
    # the kit's and the services' own signals the issue names are all watched
    assert {
        "motcua_dead_letter_messages",
        "motcua_outbox_oldest_age_seconds",
        "motcua_reporting_overdue_dossiers",
        "motcua_routing_overdue_steps",
        "motcua_notification_failed_total",
        "motcua_notification_oldest_pending_age_seconds",
        "motcua_notification_webhooks_suspended",
        "motcua_reporting_lag_seconds",
    } <= used_motcua


def test_service_down_covers_every_scraped_service() -> None:
    """MotcuaServiceDown watches each service's job and RabbitMQ's, both `up == 0` and absent."""
    (rule,) = [r for r in alert_rules() if r["alert"] == "MotcuaServiceDown"]
    down = re.search(r'up\{job=~"([^"]*)"\} == 0', rule["expr"])
    assert down is not None
    watched = (*SERVICES, "rabbitmq")
    assert sorted(down.group(1).split("|")) == sorted(watched)
    jobs = scrape_jobs()
    for job in watched:
        assert job in jobs
        assert f'absent(up{{job="{job}"}})' in rule["expr"]


def test_prometheus_scrapes_every_replica_of_every_service() -> None:
    """Each service is a job found by DNS at its own port (every replica a target), RabbitMQ's
    plugin at 15692; the rule file is the alerts file beside it."""
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    jobs = scrape_jobs()
    for service in SERVICES:
        (sd,) = jobs[service]["dns_sd_configs"]
        assert sd == {
            "names": [service],
            "type": "A",
            "port": default_port(service),
            "refresh_interval": "15s",
        }
    for job in ("rabbitmq", "rabbitmq-queues"):
        assert jobs[job]["static_configs"] == [{"targets": ["rabbitmq:15692"]}]


# --- docker-compose.yml ------------------------------------------------------------------------


def test_compose_names_every_part_of_the_platform() -> None:
    """The compose file has the four services, their migration jobs, PostgreSQL, RabbitMQ, the
    bus agency's adapter, the gateway, Prometheus and Mailpit; no fixed container names."""
    services = compose()["services"]
    assert set(services) == {
        *SERVICES,
        *(f"{s}-migrate" for s in SERVICES),
        "postgres",
        "rabbitmq",
        "agency-adapter",
        "gateway",
        "prometheus",
        "mailpit",
        "keycloak",
    }
    assert not [name for name, s in services.items() if "container_name" in s]
    assert services["keycloak"]["image"].startswith("quay.io/keycloak/keycloak:")
    assert services["rabbitmq"]["image"].startswith("rabbitmq:4.")
    assert services["rabbitmq"]["image"].endswith("-management")
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_compose_builds_one_image_for_every_motcua_container() -> None:
    """The services, the migration jobs and the adapter all run the image built from Dockerfile."""
    services = compose()["services"]
    ours = [*SERVICES, *(f"{s}-migrate" for s in SERVICES), "agency-adapter"]
    for name in ours:
        assert services[name]["build"] == ".", name
        assert services[name]["image"] == "motcua:latest", name
    assert (REPO / "Dockerfile").is_file()


def test_compose_runs_each_service_and_its_migrations() -> None:
    """Each service starts with `motcua_kit.run` and its config.yml, after its migration job
    (`motcua_kit.migrate` on its own database; intake's also loads the catalogue) completed."""
    services = compose()["services"]
    for service in SERVICES:
        spec = services[service]
        assert spec["command"] == [
            "python",
            "-m",
            "motcua_kit.run",
            "--config",
            f"services/{service}/config.yml",
            f"{service}.service",
        ]
        assert spec["depends_on"][f"{service}-migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert spec["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
        variable = f"{service.upper()}_DATABASE_URL"
        job = services[f"{service}-migrate"]
        script = " ".join(job["command"])
        assert (
            f'python -m motcua_kit.migrate --database-url "$${variable}" --service {service}'
            f" --dir services/{service}/migrations" in " ".join(script.split())
        )
        assert job["environment"][variable] == spec["environment"][variable]
        assert job["depends_on"]["postgres"] == {"condition": "service_healthy"}
    intake_job = " ".join(" ".join(services["intake-migrate"]["command"]).split())
    assert 'python -m intake.catalogue_loader --database-url "$$INTAKE_DATABASE_URL"' in intake_job


def test_compose_exposes_every_port_the_code_uses() -> None:
    """Each service exposes its config.yml port (and publishes none, so it scales), checks its
    health there, and the gateway publishes that port and passes it to the service's name."""
    services = compose()["services"]
    gateway = nginx_servers()
    for service in SERVICES:
        port = default_port(service)
        spec = services[service]
        assert [str(p) for p in spec["expose"]] == [str(port)], service
        assert "ports" not in spec, f"{service} publishes a host port: --scale would clash"
        assert spec["healthcheck"]["test"] == [
            "CMD",
            "curl",
            "-fsS",
            f"http://localhost:{port}/health",
        ]
        assert (port, port) in published(services["gateway"])
        assert gateway[port] == f"{service}:{port}"
    assert set(gateway) == {default_port(s) for s in SERVICES}
    assert services["gateway"]["volumes"] == [
        "./deploy/gateway/nginx.conf:/etc/nginx/nginx.conf:ro"
    ]
    # the infrastructure the code talks to
    assert (5432, 5432) in published(services["postgres"])
    assert {(5672, 5672), (15672, 15672)} <= published(services["rabbitmq"])
    assert "15692" in [str(p) for p in services["rabbitmq"]["expose"]]
    notification = services["notification"]["environment"]
    assert notification["SMTP_HOST"] == "mailpit"
    assert str(notification["SMTP_PORT"]) in [str(p) for p in services["mailpit"]["expose"]]
    assert (9090, 9090) in published(services["prometheus"])


def test_compose_settings_are_the_ones_config_yml_reads() -> None:
    """Every variable set for a service is one its config.yml reads; each database URL names the
    database of config.yml's default on the postgres service; all use the motcua vhost."""
    services = compose()["services"]
    for service in SERVICES:
        environment = services[service]["environment"]
        assert set(environment) - config_variables(service) == set(), service
        variable = f"{service.upper()}_DATABASE_URL"
        url = urlsplit(environment[variable])
        assert url.hostname == "postgres"
        assert url.path == urlsplit(config_default(service, variable)).path
        amqp = urlsplit(environment["AMQP_URI"])
        assert (amqp.hostname, amqp.port, amqp.username, unquote(amqp.path[1:])) == (
            "rabbitmq",
            5672,
            "motcua",
            VHOST,
        )
        # tokens from the compose file's Keycloak: its realm's issuer, its keys inside the network
        assert "JWT_SECRET" not in environment and "JWT_PUBLIC_KEY" not in environment
        environment = compose_raw()["services"][service]["environment"]
        assert compose_default(environment["OIDC_ISSUER"]) == f"{KEYCLOAK_URL}/realms/{REALM}"
        jwks = urlsplit(compose_default(environment["OIDC_JWKS_URL"]))
        assert (jwks.hostname, jwks.port) == ("keycloak", 8080)
        assert jwks.path == f"/realms/{REALM}/protocol/openid-connect/certs"
        assert compose_default(environment["OIDC_AUDIENCE"]) == "motcua"
        assert services[service]["depends_on"]["keycloak"] == {"condition": "service_healthy"}
    assert services["intake"]["environment"]["TRUSTED_PROXY_HOPS"] == "1"  # behind the gateway


def test_compose_credentials_are_those_of_the_definitions() -> None:
    """The services' and the adapter's AMQP passwords are those whose hashes definitions.json holds;
    the adapter logs in as agencies.json's user for the bus agency and answers for that agency."""
    services = compose()["services"]
    defs = definitions()
    amqp = urlsplit(services["intake"]["environment"]["AMQP_URI"])
    assert rabbit_password_matches(user(defs, "motcua")["password_hash"], amqp.password or "")
    command = services["agency-adapter"]["command"]
    assert command[:2] == ["python", "services/routing/adapter/agency_adapter.py"]
    options = dict(zip(command[2::2], command[3::2], strict=True))
    assert options["--agency"] == BUS_AGENCY
    uri = urlsplit(options["--amqp-uri"])
    assert uri.username == bus_agency_user()
    assert (uri.hostname, uri.port, unquote(uri.path[1:])) == ("rabbitmq", 5672, VHOST)
    assert rabbit_password_matches(
        user(defs, bus_agency_user())["password_hash"], uri.password or ""
    )
    for entry in defs["users"]:
        assert entry["hashing_algorithm"] == "rabbit_password_hashing_sha256"


def test_compose_mounts_the_deploy_files_where_the_images_read_them() -> None:
    """RabbitMQ gets its plugins, its config and the definitions that config names;
    PostgreSQL the init script; Prometheus the folder of its config and rules."""
    services = compose()["services"]
    rabbit = services["rabbitmq"]["volumes"]
    assert "./deploy/rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins:ro" in rabbit
    assert "./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/20-motcua.conf:ro" in rabbit
    assert "./deploy/rabbitmq/definitions.json:/etc/rabbitmq/definitions.json:ro" in rabbit
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text(encoding="utf-8").strip()
    # management (UI, API for routing.provision), prometheus (:15692), shovel (moving parked messages)
    assert plugins == (
        "[rabbitmq_management,rabbitmq_prometheus,rabbitmq_shovel,rabbitmq_shovel_management]."
    )
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text(encoding="utf-8")
    assert "definitions.import_backend = local_filesystem" in conf
    assert "definitions.local.path = /etc/rabbitmq/definitions.json" in conf
    assert services["rabbitmq"]["hostname"] == "rabbitmq"
    assert (
        "./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/10-motcua.sql:ro"
        in services["postgres"]["volumes"]
    )
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]


def test_init_sql_creates_the_database_of_every_service() -> None:
    """init.sql creates exactly the four databases the DATABASE_URL defaults name."""
    sql = (DEPLOY / "postgres" / "init.sql").read_text(encoding="utf-8")
    created = re.findall(r"^CREATE DATABASE (\w+);$", sql, re.M)
    expected = [database_name(config_default(s, f"{s.upper()}_DATABASE_URL")) for s in SERVICES]
    assert expected == [
        "motcua_intake",
        "motcua_routing",
        "motcua_notification",
        "motcua_reporting",
    ]
    assert created == expected


# --- Keycloak ------------------------------------------------------------------------------------


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader without the `${...}` resolver `nameko test` adds to it (nameko's own syntax)."""


ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "!env_var"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def compose_raw() -> dict[str, Any]:
    """docker-compose.yml with its `${NAME:-default}` values as written."""
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    return dict(yaml.load(text, Loader=ComposeLoader))  # noqa: S506 - a SafeLoader


def compose_default(value: str) -> str:
    """The default of a compose `${NAME:-default}` value (the value itself if it has none)."""
    found = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    return found.group(1) if found else value


def make_realm() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_realm", DEPLOY / "keycloak" / "make_realm.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def realm_json() -> dict[str, Any]:
    return json.loads((DEPLOY / "keycloak" / "motcua-realm.json").read_text(encoding="utf-8"))


def demo_directory() -> dict[str, Any]:
    return json.loads((DEPLOY / "dev-idp" / "people.json").read_text(encoding="utf-8"))


def test_compose_runs_keycloak_with_the_realm() -> None:
    """Keycloak imports deploy/keycloak/motcua-realm.json at start, names the issuer browsers use
    (KC_HOSTNAME), publishes 8080 and reports ready on its management port."""
    keycloak = compose()["services"]["keycloak"]
    assert keycloak["command"] == ["start-dev", "--import-realm"]
    assert (
        "./deploy/keycloak/motcua-realm.json:/opt/keycloak/data/import/motcua-realm.json:ro"
        in keycloak["volumes"]
    )
    environment = compose_raw()["services"]["keycloak"]["environment"]
    assert compose_default(environment["KC_HOSTNAME"]) == KEYCLOAK_URL
    assert environment["KC_HEALTH_ENABLED"] == "true"
    assert (8080, 8080) in published(keycloak)
    assert "/health/ready" in " ".join(keycloak["healthcheck"]["test"])
    assert realm_json()["realm"] == REALM


def test_keycloak_realm_is_generated_from_the_dev_idp_people() -> None:
    """motcua-realm.json is exactly what make_realm.py makes of deploy/dev-idp/people.json
    (after changing people.json: `python deploy/keycloak/make_realm.py`)."""
    assert make_realm().render(demo_directory()) == (
        DEPLOY / "keycloak" / "motcua-realm.json"
    ).read_text(encoding="utf-8")


def test_keycloak_realm_holds_every_person_with_their_claims() -> None:
    """Every person of people.json is a realm user with their password, realm roles and the
    attributes unit, agency, citizen_id, full_name; every client is there (PKCE for the code flow,
    a service account with roles and unit for client credentials); the client scope every client
    gets puts audience motcua and the claims the services read by default into access tokens."""
    realm = realm_json()
    directory = demo_directory()
    users = {u["username"]: u for u in realm["users"]}
    assert {r["name"] for r in realm["roles"]["realm"]} == set(ROLES)
    for person in directory["people"]:
        user = users[person["username"]]
        assert user["enabled"] is True
        assert user["realmRoles"] == person["roles"]
        assert user["credentials"] == [
            {"type": "password", "value": person["password"], "temporary": False}
        ]
        attributes = user["attributes"]
        assert attributes["full_name"] == [person["name"]]
        assert user["lastName"] == person["name"].split()[0]  # Vietnamese: family name first
        for name in ("unit", "agency", "citizen_id"):
            assert attributes.get(name) == ([person[name]] if name in person else None), name
    clients = {c["clientId"]: c for c in realm["clients"]}
    assert set(clients) == {c["client_id"] for c in directory["clients"]}
    for entry in directory["clients"]:
        kc = clients[entry["client_id"]]
        assert kc["defaultClientScopes"] == ["motcua"]
        assert kc["publicClient"] is bool(entry.get("public"))
        assert kc.get("secret") == entry.get("client_secret")
        assert kc["redirectUris"] == entry.get("redirect_uris", [])
        assert kc["implicitFlowEnabled"] is False and kc["directAccessGrantsEnabled"] is False
        if "authorization_code" in entry["grant_types"]:
            assert kc["standardFlowEnabled"] is True
            assert kc["attributes"]["pkce.code.challenge.method"] == "S256"
        if "client_credentials" in entry["grant_types"]:
            assert kc["serviceAccountsEnabled"] is True
            (account,) = [
                u for u in realm["users"] if u.get("serviceAccountClientId") == entry["client_id"]
            ]
            assert account["realmRoles"] == entry["roles"]
            assert account["attributes"]["unit"] == [entry["unit"]]
    (scope,) = realm["clientScopes"]
    assert scope["name"] == "motcua" and realm["defaultDefaultClientScopes"] == ["motcua"]
    in_access_token = {
        m["config"].get("claim.name") or m["config"].get("included.custom.audience"): m
        for m in scope["protocolMappers"]
        if m["config"].get("access.token.claim") == "true"
    }
    audience = in_access_token["motcua"]
    assert audience["protocolMapper"] == "oidc-audience-mapper"
    # the claim names the services read when OIDC_CLAIM_* are left at their defaults
    for variable, claim in (
        ("OIDC_CLAIM_UNIT", "unit"),
        ("OIDC_CLAIM_AGENCY", "agency"),
        ("OIDC_CLAIM_ROLES", "roles"),
        ("OIDC_CLAIM_NAME", "name"),
    ):
        for service in SERVICES:
            assert config_default(service, variable) == claim, (service, variable)
        assert claim in in_access_token, claim
    assert in_access_token["roles"]["protocolMapper"] == "oidc-usermodel-realm-role-mapper"
    assert in_access_token["roles"]["config"]["multivalued"] == "true"
    assert in_access_token["name"]["config"]["user.attribute"] == "full_name"
    for name in ("unit", "agency", "citizen_id"):
        assert in_access_token[name]["protocolMapper"] == "oidc-usermodel-attribute-mapper"
        assert in_access_token[name]["config"]["user.attribute"] == name
    assert "sub" in {m["name"] for m in scope["protocolMappers"]}
    # Keycloak keeps only the attributes its user profile declares: ours are, for admins only
    (profile,) = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    declared = json.loads(profile["config"]["kc.user.profile.config"][0])
    ours = {a["name"]: a for a in declared["attributes"]}
    for name in ("full_name", "unit", "agency", "citizen_id"):
        assert ours[name]["permissions"] == {"view": ["admin"], "edit": ["admin"]}


# --- RabbitMQ definitions ------------------------------------------------------------------------


def test_definitions_vhost_and_service_users() -> None:
    """One vhost, quorum queues by default; `motcua` (the services) may do anything in it,
    `motcua-admin` administers; no `guest`."""
    defs = definitions()
    assert defs["vhosts"] == [
        {
            "name": VHOST,
            "description": "motcua: dịch vụ một cửa / one-stop services",
            "metadata": {
                "description": "motcua: dịch vụ một cửa / one-stop services",
                "tags": [],
                "default_queue_type": "quorum",
            },
        }
    ]
    assert {u["name"] for u in defs["users"]} == {"motcua", "motcua-admin", bus_agency_user()}
    assert user(defs, "motcua")["tags"] == []
    assert user(defs, "motcua-admin")["tags"] == ["administrator"]
    for name in ("motcua", "motcua-admin"):
        assert permission(defs, name) == {
            "user": name,
            "vhost": VHOST,
            "configure": ".*",
            "write": ".*",
            "read": ".*",
        }


class RecordingManagement:
    """Stands in for RabbitMQ's management API: records what `routing.provision` asks for."""

    def __init__(self) -> None:
        self.vhost = quote(VHOST, safe="")
        self.calls: list[tuple[str, list[str], dict[str, Any]]] = []

    def put(self, path: str, body: dict[str, Any]) -> None:
        self.calls.append(("PUT", [unquote(p) for p in path.split("/")[1:]], body))

    def post(self, path: str, body: dict[str, Any]) -> None:
        self.calls.append(("POST", [unquote(p) for p in path.split("/")[1:]], body))


def test_definitions_create_what_routing_provision_creates() -> None:
    """For every bus agency of agencies.json, definitions.json holds the exchanges, queue, binding,
    user and permissions `routing.provision` would set up, the permissions character for character
    (read its own task queue only, write routing.replies only, configure nothing)."""
    from routing.domain.agencies import registry_from_data
    from routing.providers import DEFAULT_FILE
    from routing.provision import provision

    registry = registry_from_data(json.loads(Path(DEFAULT_FILE).read_text(encoding="utf-8")))
    management = RecordingManagement()
    provision(management, registry, {})  # type: ignore[arg-type]
    defs = definitions()
    exchanges = {e["name"]: e for e in defs["exchanges"] if e["vhost"] == VHOST}
    queues = {q["name"]: q for q in defs["queues"] if q["vhost"] == VHOST}
    bindings = {
        (b["source"], b["destination"], b["routing_key"])
        for b in defs["bindings"]
        if b["vhost"] == VHOST and b["destination_type"] == "queue"
    }
    seen_users = set()
    for method, path, body in management.calls:
        kind = path[0]
        if kind == "exchanges":
            assert path[1] == VHOST
            exchange = exchanges[path[2]]
            assert exchange["type"] == body["type"]
            assert exchange["durable"] is body["durable"] is True
            assert exchange["arguments"] == body.get("arguments", {})
            assert exchange["auto_delete"] is exchange["internal"] is False
        elif kind == "queues":
            queue = queues[path[2]]
            assert queue["durable"] is body["durable"] is True
            assert queue["auto_delete"] is False
            # the vhost's default type made explicit; nothing else the declaration lacks
            assert queue["arguments"] == {**body.get("arguments", {}), "x-queue-type": "quorum"}
        elif kind == "bindings":
            assert (method, path[2], path[4]) == ("POST", "e", "q")
            assert (path[3], path[5], body["routing_key"]) in bindings
        elif kind == "users":
            assert user(defs, path[1])["tags"] == []
            assert body["tags"] == ""
            seen_users.add(path[1])
        elif kind == "permissions":
            assert path[1] == VHOST
            granted = permission(defs, path[2])
            assert {k: granted[k] for k in ("configure", "write", "read")} == body
        else:
            pytest.fail(f"provision calls {path}: add it to this test and to definitions.json")
    assert seen_users == {bus_agency_user()}
    assert permission(defs, bus_agency_user()) == {
        "user": bus_agency_user(),
        "vhost": VHOST,
        "configure": "^$",
        "write": r"^routing\.replies$",
        "read": r"^agency\.CA\.H38\.08\.tasks$",
    }
    assert ("routing.tasks", f"agency.{BUS_AGENCY}.tasks", BUS_AGENCY) in bindings


def test_definitions_declare_commands_exactly_as_the_kit_does() -> None:
    """routing.tasks / routing.replies and their `.unrouted` exchange and queue are declared as the
    kit's command_declarations declare them (else the services' own declaration fails, 406), and
    routing's reply queue is bound as its consumer binds it, so a reply never waits for routing."""
    defs = definitions()
    exchanges = {e["name"]: e for e in defs["exchanges"]}
    queues = {q["name"]: q for q in defs["queues"]}
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in defs["bindings"]}
    for command in ("routing.tasks", "routing.replies"):
        for entity in command_declarations(command):
            if isinstance(entity, Exchange):
                declared = exchanges[entity.name]
                assert declared["type"] == entity.type
                assert declared["durable"] is entity.durable
                assert declared["auto_delete"] is entity.auto_delete
                assert declared["arguments"] == (getattr(entity, "arguments", None) or {})
            else:
                assert isinstance(entity, Queue)
                declared = queues[entity.name]
                assert declared["durable"] is entity.durable
                assert declared["arguments"] == {
                    **(getattr(entity, "queue_arguments", None) or {}),
                    "x-queue-type": "quorum",
                }
                assert (entity.exchange.name, entity.name, entity.routing_key or "") in bindings
    (replies,) = [e for name, e in consumer_queues("routing").items() if name == "routing.replies"]
    assert replies.exchange is not None
    assert ("routing.replies", "routing.replies", replies.event_type) in bindings
    assert queues["routing.replies"]["arguments"] == {"x-queue-type": "quorum"}


def test_policies_fit_the_kits_queues() -> None:
    """Which policy each queue gets: consumer queues dead-letter (at least once) to their own
    service's DLQ after 20 deliveries; retry queues keep their own TTL/dead-letter arguments and
    dead-letter at least once; DLQs and `.unrouted` parks never drop on redelivery (listing them
    returns every message); an agency's task queue parks a task its system keeps failing on."""
    defs = definitions()
    exchanges = {e["name"] for e in defs["exchanges"]}
    for policy in defs["policies"]:
        definition = policy["definition"]
        if definition.get("dead-letter-strategy") == "at-least-once":
            # at-least-once falls back to at-most-once under the default overflow (drop-head)
            assert definition["overflow"] == "reject-publish", policy["name"]
    for service in SERVICES:
        dlq = dead_letter_queue_name(service)
        assert policy_for(defs, dlq)["definition"] == {"delivery-limit": -1}  # type: ignore[index]
        for queue in consumer_queues(service):
            policy = policy_for(defs, queue)
            assert policy is not None, queue
            assert policy["name"] == f"motcua-{service}-consumers", queue
            assert policy["definition"] == {
                "delivery-limit": 20,
                "dead-letter-exchange": "",
                "dead-letter-routing-key": dlq,
                "dead-letter-strategy": "at-least-once",
                "overflow": "reject-publish",
            }
            for delay in (1.0, 5.0, 30.0, 120.0, 0.5):
                retry = EventConsumer._retry_queue(queue, delay)
                policy = policy_for(defs, retry.name)
                assert policy is not None and policy["name"] == "motcua-retries", retry.name
                # the queue's own arguments win over a policy's: back to the consumer's queue
                assert getattr(retry, "queue_arguments", {})["x-dead-letter-routing-key"] == queue
                assert "dead-letter-exchange" not in policy["definition"]
    for parked in ("routing.tasks.unrouted", "routing.replies.unrouted"):
        assert policy_for(defs, parked)["name"] == "motcua-parked"  # type: ignore[index]
    tasks = policy_for(defs, f"agency.{BUS_AGENCY}.tasks")
    assert tasks is not None and tasks["name"] == "motcua-agency-tasks"
    assert tasks["definition"]["dead-letter-exchange"] in exchanges
    assert tasks["definition"]["dead-letter-exchange"].endswith(".unrouted")
