"""Checks of docker-compose.yaml, on the configuration as docker-compose
resolves it (anchors, merge keys and ${VAR:-default} expanded).

Plain pytest: no Django settings are imported. Needs the `docker-compose`
command (the Debian package docker-compose, v1.29, or Compose v2 standalone;
only `config` is run, so no Docker engine is needed) and PyYAML.
"""

import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from common.devstack import processes  # builds command lines only: no Django

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

INFRA = ("postgres", "redis", "kafka")
SERVICES = ("user_manager", "credit_manager")
ROLES = processes.ROLES
# What docker-compose.yaml gives the roles that take an argument: every container has its own
# filesystem and network, so one address and one schedule path serve them all.
API_BIND = "0.0.0.0:8000"
BEAT_SCHEDULE = "/tmp/celerybeat-schedule"


# What docker-compose.yaml refuses to start without (a `${VAR:?message}`), with example values.
REQUIRED = {
    "DJANGO_SECRET_KEY": "a-long-random-value-of-at-least-fifty-characters-0123456789",
    "AUDIT_HMAC_KEY": "another-long-random-value-of-at-least-fifty-characters-987654",
    "CUSTOMER_LOOKUP_KEY": "a-third-long-random-value-of-at-least-fifty-characters-24680",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "POSTGRES_PASSWORD": "a-postgres-password",
}


def _docker_compose(*args, variables=REQUIRED):
    """Run `docker-compose -f docker-compose.yaml ARGS` from the repository
    root as if .env held only ``variables`` (by default the required ones): a
    --env-file replaces .env, and the environment carries no variable that the
    compose file interpolates."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "`docker-compose` is not on PATH. Install it (Debian: "
            "`apt-get update && apt-get install -y docker-compose`; `make test` "
            "does this) - these tests validate docker-compose.yaml with it.",
            pytrace=False,
        )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / "test.env"
        env_file.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
        return subprocess.run(
            [exe, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@functools.cache
def _resolved_config_text():
    proc = _docker_compose("config")
    if proc.returncode != 0:
        pytest.fail(
            f"`docker-compose config` exited {proc.returncode}:\n{proc.stderr}{proc.stdout}",
            pytrace=False,
        )
    return proc.stdout


def resolved_config():
    # Parsed anew on each call, so that no test can alter another's copy.
    return yaml.safe_load(_resolved_config_text())


def _tokens(value):
    """A command or healthcheck test, as a list of words."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    words = [str(v) for v in value]
    if words and words[0] == "CMD-SHELL":
        return shlex.split(" ".join(words[1:]))
    if words and words[0] in ("CMD", "NONE"):
        words = words[1:] if words[0] == "CMD" else ["NONE"]
    if len(words) >= 3 and os.path.basename(words[0]) in ("sh", "bash") and words[1] == "-c":
        return shlex.split(words[2])
    return words


def _runs_manage_py(tokens, subcommand):
    return any(
        tok.endswith("manage.py") and i + 1 < len(tokens) and tokens[i + 1] == subcommand
        for i, tok in enumerate(tokens)
    )


def _role_of(tokens):
    """The role a container's command gives it, or None for a one-shot job."""
    if _runs_manage_py(tokens, "migrate"):
        return None
    if any(os.path.basename(t) == "granian" for t in tokens):
        return "api"
    if _runs_manage_py(tokens, "consume_kafka"):
        return "kafka-worker"
    if _runs_manage_py(tokens, "relay_outbox"):
        return "relay"
    if any(os.path.basename(t) == "celery" for t in tokens) and "worker" in tokens:
        assert "-B" not in tokens and "--beat" not in tokens, "beat runs in its own container, so workers can scale"
        return "queue-worker"
    if any(os.path.basename(t) == "celery" for t in tokens) and "beat" in tokens:
        return "beat"
    raise AssertionError(f"no known role for command {tokens!r}")


def _health_check_service(tokens):
    """The --service given to `manage.py health_check`, or None."""
    if not _runs_manage_py(tokens, "health_check"):
        return None
    for i, tok in enumerate(tokens):
        if tok == "--service" and i + 1 < len(tokens):
            return tokens[i + 1]
        if tok.startswith("--service="):
            return tok.split("=", 1)[1]
    return None


def _service_of(name, svc):
    """user_manager or credit_manager, from the container's working_dir."""
    workdir = svc.get("working_dir")
    assert workdir, f"{name}: no working_dir (must be /app/<service>)"
    service = os.path.basename(workdir.rstrip("/"))
    assert service in SERVICES, f"{name}: working_dir {workdir!r} is not /app/<service>"
    return service


def app_containers(config):
    """{name: (service, role, definition)} of every long-running container
    built from the Dockerfile (one-shot migrate jobs excluded)."""
    found = {}
    for name, svc in config["services"].items():
        if "build" not in svc:
            continue
        role = _role_of(_tokens(svc.get("command")))
        if role is not None:
            found[name] = (_service_of(name, svc), role, svc)
    return found


def migrate_jobs(config):
    return {
        name: svc
        for name, svc in config["services"].items()
        if "build" in svc and _runs_manage_py(_tokens(svc.get("command")), "migrate")
    }


def test_compose_config_is_valid_with_only_the_required_variables():
    proc = _docker_compose("config", "-q")
    assert proc.returncode == 0, (
        f"`docker-compose -f docker-compose.yaml config -q` exited {proc.returncode}:\n"
        f"{proc.stderr}{proc.stdout}"
    )


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_compose_refuses_to_start_without_a_required_variable(missing):
    proc = _docker_compose("config", "-q", variables={k: v for k, v in REQUIRED.items() if k != missing})
    assert proc.returncode != 0, f"docker-compose accepted a configuration without {missing}"
    assert f"set {missing} in .env" in proc.stderr, proc.stderr


def test_the_services_run_as_production():
    for name, (_, _, svc) in app_containers(resolved_config()).items():
        assert svc["environment"]["DJANGO_ENVIRONMENT"] == "production", name
        assert svc["environment"]["DJANGO_BEHIND_TLS"] == "true", name


def test_app_containers_have_health_check_matching_their_role():
    containers = app_containers(resolved_config())
    assert containers, "no app container (service with `build:`) in docker-compose.yaml"
    for name, (_, role, svc) in containers.items():
        healthcheck = svc.get("healthcheck") or {}
        assert not healthcheck.get("disable"), f"{name}: healthcheck disabled"
        tokens = _tokens(healthcheck.get("test"))
        assert _health_check_service(tokens) == role, (
            f"{name} runs as {role!r} but its healthcheck test is {tokens!r}; "
            f"expected `python manage.py health_check --service {role}`"
        )
        for key in ("interval", "timeout", "retries", "start_period"):
            assert key in healthcheck, f"{name}: healthcheck has no {key}"


def test_infrastructure_has_health_checks():
    services = resolved_config()["services"]
    for name in INFRA:
        assert name in services, f"no {name} service"
        healthcheck = services[name].get("healthcheck") or {}
        tokens = _tokens(healthcheck.get("test"))
        assert tokens and tokens != ["NONE"] and not healthcheck.get("disable"), (
            f"{name}: no healthcheck"
        )


def test_app_containers_wait_for_healthy_infrastructure():
    config = resolved_config()
    for name, (_, _, svc) in app_containers(config).items():
        depends_on = svc.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on has no conditions"
        for infra in INFRA:
            condition = (depends_on.get(infra) or {}).get("condition")
            assert condition == "service_healthy", (
                f"{name}: depends_on {infra} with condition {condition!r}, "
                "expected service_healthy"
            )


def test_app_containers_wait_for_their_migration():
    config = resolved_config()
    jobs = migrate_jobs(config)
    job_of_service = {}
    for name, svc in jobs.items():
        job_of_service[_service_of(name, svc)] = name
        depends_on = svc.get("depends_on") or {}
        for infra in INFRA:
            assert (depends_on.get(infra) or {}).get("condition") == "service_healthy", (
                f"{name}: must wait for {infra} to be healthy"
            )
    assert set(job_of_service) == set(SERVICES), f"migrate jobs: {sorted(jobs)}"
    for name, (service, _, svc) in app_containers(config).items():
        job = job_of_service[service]
        condition = ((svc.get("depends_on") or {}).get(job) or {}).get("condition")
        assert condition == "service_completed_successfully", (
            f"{name}: depends_on {job} with condition {condition!r}, "
            "expected service_completed_successfully"
        )


def test_each_service_has_all_its_roles():
    roles = {service: set() for service in SERVICES}
    for _, (service, role, _) in app_containers(resolved_config()).items():
        roles[service].add(role)
    for service in SERVICES:
        assert roles[service] == set(ROLES), (
            f"{service} has roles {sorted(roles[service])}, expected {sorted(ROLES)}"
        )


def declared_command(service, role):
    """The command line common/devstack/processes.py declares for ``role``, with the compose file's arguments."""
    if role == "api":
        return processes.api(service, bind=API_BIND)
    if role == "kafka-worker":
        return processes.kafka_worker()
    if role == "queue-worker":
        return processes.queue_worker(service)
    if role == "relay":
        return processes.relay()
    return processes.beat(service, schedule=BEAT_SCHEDULE)


def test_each_container_runs_the_command_line_declared_for_its_role():
    """docker-compose.yaml cannot import common.devstack.processes, which the local stack and the
    end-to-end tests start their processes from; this keeps the three from drifting apart."""
    for name, (service, role, svc) in app_containers(resolved_config()).items():
        expected = declared_command(service, role)
        assert svc["command"] == expected, (
            f"{name}: command {svc['command']!r} is not the {role} command of common/devstack/processes.py: {expected!r}"
        )


def test_every_interpolated_variable_is_documented_in_env_example():
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text()))
    documented = set(
        re.findall(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    )
    missing = sorted(used - documented)
    assert not missing, f"used in docker-compose.yaml but not in .env.example: {missing}"
