"""Production refuses development defaults, naming every wrong setting at once; settings may
come from files (`<NAME>_FILE`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from motcua_kit import production
from motcua_kit.config import referenced_variables, secrets_from_files

REPO = Path(__file__).resolve().parents[2]

GOOD = {
    "MOTCUA_ENV": "production",
    "AMQP_URI": "amqps://intake:Zq8-long-random@rabbitmq.agency.gov.vn:5671/motcua",
    "DATABASE_URL": "postgresql://intake:pw-9f2@db.agency.gov.vn/motcua_intake?sslmode=verify-full",
    "OIDC_ISSUER": "https://id.agency.gov.vn/realms/motcua",
    "OIDC_JWKS_URL": "",
    "PUBLIC_BASE_URL": "https://motcua.agency.gov.vn",
    "LOOKUP_PIN_KEY": "3q2+7w-a-real-random-key-of-32-bytes",
    "SMS_GATEWAY_TOKEN": "",
}


def named(problems: list[str], setting: str) -> list[str]:
    return [p for p in problems if p.startswith(setting) or f" {setting}" in p]


def test_a_production_configuration_passes():
    assert production.problems(GOOD) == []
    assert production.is_production(GOOD)
    assert not production.is_production({**GOOD, "MOTCUA_ENV": "development"})


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("LOOKUP_PIN_KEY", "", "is empty"),
        ("LOOKUP_PIN_KEY", "motcua-dev-pin-key-change-me", "development default"),
        ("SMS_GATEWAY_TOKEN", "changeme", "development default"),
        ("SMTP_PASSWORD", "motcua-dev", "development default"),
        ("SMS_REPORT_TOKEN", "", "is empty"),
        ("OIDC_ISSUER", "", "is empty"),
        ("OIDC_ISSUER", "http://id.agency.gov.vn", "https://"),
        ("OIDC_ISSUER", "https://localhost:8009", "this machine"),
        ("OIDC_JWKS_URL", "http://id.agency.gov.vn/jwks", "https://"),
        ("AMQP_URI", "amqp://intake:Zq8@rabbitmq.agency.gov.vn/motcua", "amqps://"),
        ("AMQP_URI", "amqps://guest:guest@rabbitmq.agency.gov.vn/", "guest"),
        ("AMQP_URI", "amqps://motcua:motcua-dev@rabbitmq/motcua", "development default"),
        ("DATABASE_URL", "postgresql://intake@db.agency.gov.vn/motcua_intake", "sslmode"),
        ("DATABASE_URL", "postgresql://intake@db/motcua_intake?sslmode=prefer", "sslmode=prefer"),
        ("DATABASE_URL", "postgresql://postgres@db/motcua_intake?sslmode=require", "superuser"),
        ("REPORTING_DATABASE_URL", "host=db dbname=r sslmode=disable", "sslmode=disable"),
        ("PUBLIC_BASE_URL", "http://motcua.agency.gov.vn", "https://"),
    ],
)
def test_each_unfit_setting_is_named(setting, value, says):
    problems = production.problems({**GOOD, setting: value})
    assert len(problems) == 1, problems
    assert named(problems, setting) and says in problems[0], problems
    if value and setting.endswith(("_KEY", "_TOKEN", "_PASSWORD")):
        assert value not in problems[0]  # a secret, even a bad one, is not printed


def test_every_problem_at_once():
    problems = production.problems(
        {
            "MOTCUA_ENV": "production",
            "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/motcua_intake",
            "OIDC_ISSUER": "http://localhost:8009",
            "LOOKUP_PIN_KEY": "",
            "PUBLIC_BASE_URL": "http://localhost:8001",
        }
    )
    for setting in ("LOOKUP_PIN_KEY", "OIDC_ISSUER", "AMQP_URI", "DATABASE_URL", "PUBLIC_BASE_URL"):
        assert named(problems, setting), (setting, problems)
    assert len(problems) == 8, (
        problems
    )  # issuer: http, local; broker: TLS, guest; db: TLS, superuser


def test_intake_development_key_is_a_known_default():
    sys.path.insert(0, str(REPO / "services" / "intake"))
    from intake.settings import DEV_PIN_KEY

    assert production.looks_like_dev_default(DEV_PIN_KEY)


# --- settings from files ----------------------------------------------------------------------


def test_config_files_name_their_variables():
    text = "A: ${AMQP_URI:amqp://x}\nB: ${LOOKUP_PIN_KEY:}\nC: ${X}:${AMQP_URI:y}\n"
    assert referenced_variables(text) == ["AMQP_URI", "LOOKUP_PIN_KEY", "X"]


def test_a_setting_comes_from_the_file_its_FILE_variable_names(tmp_path):
    key = tmp_path / "pin_key"
    key.write_text("k3y-from-a-file\n", encoding="utf-8")
    environ = {"LOOKUP_PIN_KEY_FILE": str(key), "CALENDAR_FILE": "deploy/calendar.json"}
    assert secrets_from_files(["LOOKUP_PIN_KEY", "CALENDAR_FILE"], environ) == []
    assert environ["LOOKUP_PIN_KEY"] == "k3y-from-a-file"
    assert "CALENDAR" not in environ  # only variables the config reads


def test_a_missing_file_or_two_sources_are_named(tmp_path):
    environ = {
        "LOOKUP_PIN_KEY_FILE": str(tmp_path / "absent"),
        "SMS_REPORT_TOKEN": "t",
        "SMS_REPORT_TOKEN_FILE": str(tmp_path / "absent"),
    }
    problems = secrets_from_files(["LOOKUP_PIN_KEY", "SMS_REPORT_TOKEN"], environ)
    assert len(problems) == 2
    assert problems[0].startswith("LOOKUP_PIN_KEY_FILE names") and "cannot be read" in problems[0]
    assert problems[1] == "SMS_REPORT_TOKEN and SMS_REPORT_TOKEN_FILE are both set: keep one"
    assert "LOOKUP_PIN_KEY" not in environ


# --- the launcher -------------------------------------------------------------------------------


def launch(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LOOKUP_", "OIDC_", "AMQP_", "INTAKE_", "MOTCUA_"))
    }
    clean["PYTHONPATH"] = f"{REPO / 'kit'}:{REPO / 'services' / 'intake'}"
    return subprocess.run(
        [sys.executable, "-m", "motcua_kit.run", "--config", "services/intake/config.yml"]
        + ["intake.service"],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,  # a service that started would still be running: the test fails
    )


def test_production_with_the_default_settings_refuses_to_start_naming_each():
    done = launch(MOTCUA_ENV="production")
    assert done.returncode == 2, done.stderr
    assert "intake.service cannot start" in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("MOTCUA_ENV=production")]
    for setting in ("LOOKUP_PIN_KEY", "OIDC_ISSUER", "AMQP_URI", "DATABASE_URL", "PUBLIC_BASE_URL"):
        assert any(setting in line for line in lines), (setting, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout


def test_production_reads_the_key_from_its_file(tmp_path):
    key = tmp_path / "pin_key"
    key.write_text("a-real-key-from-docker-secrets\n", encoding="utf-8")
    done = launch(MOTCUA_ENV="production", LOOKUP_PIN_KEY_FILE=str(key))
    assert done.returncode == 2, done.stderr  # the other settings are still wrong
    assert "LOOKUP_PIN_KEY" not in done.stderr
    assert "OIDC_ISSUER" in done.stderr

    missing = launch(MOTCUA_ENV="production", LOOKUP_PIN_KEY_FILE=str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "LOOKUP_PIN_KEY_FILE names" in missing.stderr


def test_each_problem_names_the_environment_variable_an_operator_sets():
    text = (REPO / "services" / "intake" / "config.yml").read_text(encoding="utf-8")
    from motcua_kit.config import setting_variables

    variables = setting_variables(text)
    assert variables["DATABASE_URL"] == "INTAKE_DATABASE_URL"
    problems = production.problems({**GOOD, "DATABASE_URL": "postgresql://db/x"}, variables)
    assert problems[0].startswith("DATABASE_URL (INTAKE_DATABASE_URL) must ask for TLS")
