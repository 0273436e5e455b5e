"""The docker-compose deployment is a valid compose file with the services Airflow 3 needs."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import PROJECT

COMPOSE = PROJECT / "docker-compose.yml"
CELERY_COMPOSE = PROJECT / "docker-compose.celery.yml"
# The two deployments: the default (LocalExecutor), and the Celery variant as docs/scaling.md runs it.
VARIANTS = {
    "local": ["-f", str(COMPOSE)],
    "celery": ["-f", str(COMPOSE), "-f", str(CELERY_COMPOSE), "--profile", "celery"],
}


def compose_config(variant: str, *extra: str) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it with apt-get)")
    return subprocess.run(
        ["docker-compose", *VARIANTS[variant], "--env-file", str(PROJECT / ".env.example"), "config", *extra],
        capture_output=True, text=True, cwd=PROJECT,
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_compose_files_validate(variant: str) -> None:
    result = compose_config(variant, "-q")
    assert result.returncode == 0, result.stderr


def test_the_deployment_has_airflow_3_services_postgres_and_a_mail_catcher() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "mailpit", "airflow-init", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer"} <= set(services)
    dockerfile = (PROJECT / "deploy" / "Dockerfile").read_text()
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile and "pip install" in dockerfile


def test_secrets_come_from_an_uncommitted_env_file() -> None:
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD}" in text and "change-me" not in text
    assert ".env" in (PROJECT / ".gitignore").read_text().splitlines()
    assert (PROJECT / ".env.example").exists()


def resolved_compose(variant: str = "local") -> dict:
    """The deployment as docker-compose resolves it with .env.example: files and anchors merged, variables filled in."""
    result = compose_config(variant)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


def test_every_airflow_container_shares_one_fernet_key_and_jwt_secret() -> None:
    """A connection (reddit_default) saved through one container must decrypt in the others."""
    services = resolved_compose()["services"]
    for variable in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        values = {services[name]["environment"].get(variable) for name in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values and "" not in values, (variable, values)
    assert "${AIRFLOW_FERNET_KEY}" in COMPOSE.read_text()  # from .env, never written in the file


def test_the_data_volume_belongs_to_the_user_the_services_run_as() -> None:
    services = resolved_compose()["services"]
    assert {services[name]["user"] for name in AIRFLOW_SERVICES if name != "airflow-init"} == {"50000:0"}
    init = services["airflow-init"]
    assert init["user"] == "0:0" and "chown -R 50000:0 /opt/zmot-data" in " ".join(init["command"])
    assert any(str(v).endswith(":/opt/zmot-data") or "/opt/zmot-data" in str(v) for v in init["volumes"])
    dockerfile = (PROJECT / "deploy" / "Dockerfile").read_text()
    assert "chown 50000:0 /opt/zmot-data" in dockerfile  # a new named volume takes the image folder's owner


def test_airflow_init_creates_the_admin_user_and_the_writer_pool() -> None:
    from zmot.pools import DEFAULT_WRITER_POOL, WRITER_POOL_DESCRIPTION

    services = resolved_compose()["services"]
    script = " ".join(services["airflow-init"]["command"])
    assert "airflow users create --role Admin" in script
    assert services["airflow-apiserver"]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")
    assert services["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"]  # from .env
    assert f'airflow pools set {DEFAULT_WRITER_POOL} 1 "{WRITER_POOL_DESCRIPTION}"' in script


def test_every_airflow_container_publishes_to_one_postgresql_catalog_lake_on_the_shared_volume() -> None:
    """Issue 16: readers on any host attach the lake; its catalog is the deployment's PostgreSQL."""
    services = resolved_compose()["services"]
    for variable in ("ZMOT_LAKE_CATALOG", "ZMOT_LAKE_DATA_PATH", "PGPASSWORD"):
        values = {services[name]["environment"].get(variable) for name in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values and "" not in values, (variable, values)
    environment = services["airflow-scheduler"]["environment"]
    assert environment["ZMOT_LAKE_CATALOG"] == "postgres:host=postgres dbname=zmot_lake user=airflow"
    assert environment["ZMOT_LAKE_DATA_PATH"].startswith(environment["ZMOT_DATA_DIR"] + "/")  # the zmot-data volume
    assert "${POSTGRES_PASSWORD}" in COMPOSE.read_text() and "password=" not in environment["ZMOT_LAKE_CATALOG"]
    init = services["airflow-init"]
    assert 'python -c "$${CREATE_LAKE_DATABASE}"' in COMPOSE.read_text()
    script = init["environment"]["CREATE_LAKE_DATABASE"]
    compile(script, "CREATE_LAKE_DATABASE", "exec")
    assert "CREATE DATABASE zmot_lake" in script and "pg_database WHERE datname = 'zmot_lake'" in script


def test_every_long_running_service_has_a_health_check() -> None:
    services = resolved_compose()["services"]
    for name in ("postgres", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert "8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_the_image_installs_with_airflows_constraints_for_the_pinned_version() -> None:
    import tomllib

    dockerfile = (PROJECT / "deploy" / "Dockerfile").read_text()
    pins = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    airflow_version = next(p.split("==")[1] for p in pins if p.startswith("apache-airflow=="))
    assert f"ARG AIRFLOW_VERSION={airflow_version}" in dockerfile
    assert "constraints-${AIRFLOW_VERSION}/constraints-${PYTHON_VERSION}.txt" in dockerfile
    assert '--constraint /tmp/constraints.txt "apache-airflow[celery]==${AIRFLOW_VERSION}"' in dockerfile
    # the demo runs in the image: its DAG and sample config sit beside the (editable) packages
    assert "COPY --chown=airflow:root dags /opt/zmot/dags" in dockerfile
    assert "COPY --chown=airflow:root config/sample /opt/zmot/config/sample" in dockerfile
    assert "-e /opt/zmot" in dockerfile


def test_our_requirements_overrule_only_the_airflow_pins_they_exclude() -> None:
    from deploy.constraints import narrowed

    kept, dropped = narrowed(
        "# Airflow's file\nduckdb==1.1.3\nrequests==2.32.3\npydantic==2.11.0\nSQLAlchemy==1.4.54\n",
        ["duckdb==2.0.1", "requests>=2.31", "pydantic>=2.7,<3"],
    )
    assert kept == ["requests==2.32.3", "pydantic==2.11.0", "SQLAlchemy==1.4.54"]
    assert dropped == ["duckdb==1.1.3 (we need duckdb==2.0.1)"]


CELERY_ONLY = ("redis", "airflow-worker")


def test_the_default_deployment_runs_the_local_executor_and_starts_no_celery_service() -> None:
    services = resolved_compose("local")["services"]
    assert {services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] for name in AIRFLOW_SERVICES} == {"LocalExecutor"}
    # `docker compose up` without `--profile celery` leaves these out
    assert all(services[name]["profiles"] == ["celery"] for name in CELERY_ONLY)
    assert all("profiles" not in services[name] for name in AIRFLOW_SERVICES)


def test_the_celery_variant_gives_every_airflow_container_the_broker_and_the_result_backend() -> None:
    services = resolved_compose("celery")["services"]
    airflow = (*AIRFLOW_SERVICES, "airflow-worker")
    for variable in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND"):
        values = {services[name]["environment"].get(variable) for name in airflow}
        assert len(values) == 1 and None not in values, (variable, values)
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    # the deployment's PostgreSQL, with the same login as Airflow's metadata
    metadata = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].split("://", 1)[1]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+postgresql://{metadata}"
    for name in ("airflow-scheduler", "airflow-worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy", name


def test_a_celery_worker_sees_the_data_volume_and_settings_the_scheduler_sees() -> None:
    """Staging, the writer's file and the published copy are on one volume every task's container mounts."""
    from zmot.runcontext import DATA_DIR_ENV

    services = resolved_compose("celery")["services"]
    worker, scheduler = services["airflow-worker"], services["airflow-scheduler"]
    assert worker["image"] == scheduler["image"] and worker["user"] == scheduler["user"]
    assert sorted(worker["volumes"]) == sorted(scheduler["volumes"])
    worker_env = {k: v for k, v in worker["environment"].items() if k != "DUMB_INIT_SETSID"}
    assert worker_env == scheduler["environment"]  # the data dir, the Fernet key, the SMTP target, ...
    data_dir = worker_env[DATA_DIR_ENV]
    data_volume = next(v.split(":")[0] for v in worker["volumes"] if v.split(":")[1] == data_dir)
    assert data_volume in resolved_compose("celery")["volumes"]  # a named volume, not a per-container folder
    assert worker["command"] == "celery worker"


def test_the_celery_services_have_health_checks_and_the_writer_pool_is_unchanged() -> None:
    local, celery = resolved_compose("local")["services"], resolved_compose("celery")["services"]
    assert "redis-cli" in celery["redis"]["healthcheck"]["test"]
    assert "inspect ping" in " ".join(celery["airflow-worker"]["healthcheck"]["test"])
    # one airflow-init for both: the same migration, admin and one-slot zmot_warehouse pool
    assert celery["airflow-init"]["command"] == local["airflow-init"]["command"]
