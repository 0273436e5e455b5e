"""The docker-compose deployment is a valid compose file with the services Airflow 3 needs."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import PROJECT

COMPOSE = PROJECT / "docker-compose.yml"


def test_the_compose_file_validates() -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it with apt-get)")
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--env-file", str(PROJECT / ".env.example"), "config", "-q"],
        capture_output=True, text=True, cwd=PROJECT,
    )
    assert result.returncode == 0, result.stderr


def test_the_deployment_has_airflow_3_services_postgres_and_a_mail_catcher() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "mailpit", "airflow-init", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer"} <= set(services)
    dockerfile = (PROJECT / "deploy" / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in dockerfile and "pip install" in dockerfile


def test_secrets_come_from_an_uncommitted_env_file() -> None:
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD}" in text and "change-me" not in text
    assert ".env" in (PROJECT / ".gitignore").read_text().splitlines()
    assert (PROJECT / ".env.example").exists()
