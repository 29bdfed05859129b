"""Production refuses unsafe settings, and Django's deployment checks find nothing to warn about in safe ones.

Each test runs ``manage.py`` of a service as a subprocess with an environment built here, the way a container
starts: nothing of the test run's own environment (DJANGO_ENVIRONMENT=test) leaks in, so an unset
DJANGO_ENVIRONMENT means production. ``check`` opens no connection: the backing services' addresses are never used.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("user_manager", "credit_manager")
STRONG_KEY = secrets.token_urlsafe(50)
# What a production container is given (docker-compose.yaml), with a strong key of this run's own.
PRODUCTION = {
    "DJANGO_SECRET_KEY": STRONG_KEY,
    "AUDIT_HMAC_KEY": secrets.token_urlsafe(50),
    "CUSTOMER_LOOKUP_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://credit:never-connected@127.0.0.1:9/credit",
    "CACHE_URL": "redis://127.0.0.1:9/0",
    "CELERY_BROKER_URL": "redis://127.0.0.1:9/1",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
}


def manage(service: str, *arguments: str, **changes: str | None) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGUMENTS`` of ``service`` under :data:`PRODUCTION` with ``changes`` (None unsets a variable)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env |= {name: value for name, value in (PRODUCTION | changes).items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO_ROOT / service,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_checks_find_nothing_under_production_settings(service):
    proc = manage(service, "check", "--deploy", "--fail-level", "WARNING")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "System check identified no issues" in output and "WARNING" not in output, output


UNSAFE = {
    "no secret key": ({"DJANGO_SECRET_KEY": None}, "set DJANGO_SECRET_KEY"),
    "empty secret key": ({"DJANGO_SECRET_KEY": ""}, "set DJANGO_SECRET_KEY"),
    "short secret key": ({"DJANGO_SECRET_KEY": secrets.token_urlsafe(36)[:49]}, "DJANGO_SECRET_KEY is weak"),
    "secret key of few characters": ({"DJANGO_SECRET_KEY": "abcd" * 20}, "DJANGO_SECRET_KEY is weak"),
    "Django's insecure key": (
        {"DJANGO_SECRET_KEY": f"django-insecure-{secrets.token_urlsafe(50)}"},
        "DJANGO_SECRET_KEY is weak",
    ),
    "the local stack's key": (
        {"DJANGO_SECRET_KEY": "devstack-insecure-user_manager-secret-key-never-use-in-production"},
        "DJANGO_SECRET_KEY is weak",
    ),
    "no audit key": ({"AUDIT_HMAC_KEY": None}, "set AUDIT_HMAC_KEY"),
    "weak audit key": ({"AUDIT_HMAC_KEY": "abcd" * 20}, "AUDIT_HMAC_KEY is weak"),
    "the secret key as audit key": ({"AUDIT_HMAC_KEY": STRONG_KEY}, "AUDIT_HMAC_KEY is weak"),
    "no customer lookup key": ({"CUSTOMER_LOOKUP_KEY": None}, "set CUSTOMER_LOOKUP_KEY"),
    "the secret key as customer lookup key": ({"CUSTOMER_LOOKUP_KEY": STRONG_KEY}, "CUSTOMER_LOOKUP_KEY is weak"),
    "DEBUG on": ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG is on"),
    "no allowed hosts": ({"DJANGO_ALLOWED_HOSTS": None}, "set DJANGO_ALLOWED_HOSTS"),
    "any host allowed": ({"DJANGO_ALLOWED_HOSTS": "*"}, "set DJANGO_ALLOWED_HOSTS"),
}


@pytest.mark.parametrize(("changes", "message"), UNSAFE.values(), ids=UNSAFE.keys())
def test_production_refuses_to_start_on_an_unsafe_setting_and_says_what_to_set(changes, message):
    proc = manage("user_manager", "check", **changes)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "ImproperlyConfigured" in output and message in output, output
    key = (PRODUCTION | changes)["DJANGO_SECRET_KEY"]
    assert not key or key not in output, "the secret key was echoed"


def test_production_is_what_an_unset_environment_means_for_both_services():
    for service in SERVICES:
        proc = manage(service, "check", DJANGO_SECRET_KEY="k3y-7Qz", DJANGO_ENVIRONMENT=None)
        assert proc.returncode != 0 and "DJANGO_SECRET_KEY is weak" in proc.stderr, proc.stderr
        assert "k3y-7Qz" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("environment", ["local", "test"])
def test_outside_production_a_development_key_debug_and_default_hosts_start(environment):
    proc = manage(
        "user_manager",
        "check",
        DJANGO_ENVIRONMENT=environment,
        DJANGO_SECRET_KEY="test-secret",
        DJANGO_DEBUG="true",
        DJANGO_ALLOWED_HOSTS=None,
    )
    assert proc.returncode == 0, proc.stderr


def test_an_unknown_environment_is_refused():
    proc = manage("user_manager", "check", DJANGO_ENVIRONMENT="staging")
    assert proc.returncode != 0 and "DJANGO_ENVIRONMENT must be one of production, local, test" in proc.stderr


SHOW_HTTPS = (
    "from django.conf import settings as s; "
    "print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "s.SECURE_PROXY_SSL_HEADER)"
)


def test_behind_tls_cookies_are_secure_http_is_redirected_and_hsts_max_age_is_configurable():
    proc = manage("credit_manager", "shell", "--no-imports", "-c", SHOW_HTTPS, DJANGO_HSTS_SECONDS="600")
    assert proc.stdout.split(maxsplit=4) == ["600", "True", "True", "True", "('HTTP_X_FORWARDED_PROTO', 'https')\n"]


def test_not_behind_tls_plain_http_is_served_and_the_deployment_checks_say_so():
    shown = manage("credit_manager", "shell", "--no-imports", "-c", SHOW_HTTPS, DJANGO_BEHIND_TLS="false")
    assert shown.stdout.split() == ["0", "False", "False", "False", "None"]
    checked = manage("credit_manager", "check", "--deploy", "--fail-level", "WARNING", DJANGO_BEHIND_TLS="false")
    assert checked.returncode != 0 and "security.W008" in checked.stderr + checked.stdout
