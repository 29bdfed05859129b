"""Settings shared by both services, read from the environment (twelve-factor).

Each project's ``settings.py`` calls :func:`service_settings` and adds what only it has.
Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from common.messaging.event_batch import CONTENT_TYPE as EVENT_BATCH_CONTENT_TYPE

#: Where a deployment runs (DJANGO_ENVIRONMENT). Unset means production, so forgetting it is safe.
PRODUCTION = "production"
ENVIRONMENTS = (PRODUCTION, "local", "test")

COMMON_APPS = [
    "common.backoffice.site.BackOfficeAdminConfig",  # django.contrib.admin, with the back office's index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # before common.backoffice, whose admin replaces axes' lockout admin
    "common.outbox",
    "common.inbox",
    "common.apikeys",
    "common.messaging",
    "common.health",
    "common.backoffice",
    "common.audit",
    "rest_framework",
    "drf_spectacular",
    "common.staffapi",
]


def service_settings(
    *,
    service: str,
    base_dir: Path,
    apps: list[str],
    consumed_topics: list[str],
    api_scopes: list[str],
) -> dict[str, Any]:
    """Return the Django settings of one service.

    ``service`` names the service in events (``source``), logs and the default consumer group.
    """
    env = environ.Env()
    environment = _environment(env)
    production = environment == PRODUCTION
    debug = env.bool("DJANGO_DEBUG", default=False)
    secret_key = env.str("DJANGO_SECRET_KEY", default="" if production else "insecure-dev-key")
    audit_key = env.str("AUDIT_HMAC_KEY", default="" if production else "insecure-dev-audit-key")
    lookup_key = env.str("CUSTOMER_LOOKUP_KEY", default="" if production else "insecure-dev-customer-lookup-key")
    allowed_hosts = env.list("DJANGO_ALLOWED_HOSTS", default=[] if production else ["localhost", "127.0.0.1"])
    if production:
        _refuse_unsafe_production(
            secret_key=secret_key, audit_key=audit_key, lookup_key=lookup_key, debug=debug, allowed_hosts=allowed_hosts
        )
    database = env.db_url("DATABASE_URL")
    database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["ENGINE"] = "common.postgres"  # Django's backend, with fewer round trips (common.postgres)
    consumer_group = env.str("KAFKA_CONSUMER_GROUP", default=service)
    socket_timeout = env.float("REDIS_SOCKET_TIMEOUT", default=5.0)
    outbox_sweep_seconds = env.float("OUTBOX_SWEEP_SECONDS", default=5)

    return {
        "SERVICE_NAME": service,
        "BASE_DIR": base_dir,
        "SECRET_KEY": secret_key,
        # Signs the audit trail's hash chain (common.audit); a key of its own, kept apart from SECRET_KEY,
        # so rotating the session secret does not break the chain's verification.
        "AUDIT_HMAC_KEY": audit_key,
        # Shared by both services: digests of a customer's tax id and email that credit_manager's
        # operators search by, without either ever leaving user_manager (common.customer_lookup).
        "CUSTOMER_LOOKUP_KEY": lookup_key,
        "DEBUG": debug,
        "ENVIRONMENT": environment,
        "ALLOWED_HOSTS": allowed_hosts,
        "CSRF_TRUSTED_ORIGINS": env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[]),
        # Browsers keep cookies per host, not per port: both back offices on one host (make run, docker
        # compose) would overwrite each other's session and CSRF token under Django's default names.
        "SESSION_COOKIE_NAME": f"{service}_sessionid",
        "CSRF_COOKIE_NAME": f"{service}_csrftoken",
        **_https(env, behind_tls=env.bool("DJANGO_BEHIND_TLS", default=production)),
        "INSTALLED_APPS": [*COMMON_APPS, *apps],
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "common.observability.RequestIdMiddleware",
            # The back office's (sessions, the operator, messages): skipped on the public API's paths.
            "common.backoffice.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "common.backoffice.middleware.AuthenticationMiddleware",
            "common.audit.actors.AuditActorMiddleware",
            "common.backoffice.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "axes.middleware.AxesMiddleware",  # last: turns a refused login into the lockout page
        ],
        "AUTHENTICATION_BACKENDS": [
            "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before the password is checked
            "django.contrib.auth.backends.ModelBackend",
        ],
        **_admin_login(env),
        **_rate_limits(env),
        # The operators' API (common.staffapi): the back office's session and permissions, JSON errors.
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
            "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
            "PAGE_SIZE": 50,
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "EXCEPTION_HANDLER": "common.staffapi.base.handle_errors",
        },
        "SPECTACULAR_SETTINGS": {
            "TITLE": f"{service} operators' API",
            "DESCRIPTION": "The back office's queues for scripts and tools: session login, CSRF, Django permissions.",
            "VERSION": "1",
            "SERVE_INCLUDE_SCHEMA": False,
        },
        "ROOT_URLCONF": f"{service}.urls",
        "WSGI_APPLICATION": f"{service}.wsgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DATABASES": {"default": database},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "CACHES": {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": env.str("CACHE_URL"),
                "KEY_PREFIX": service,
                "OPTIONS": {
                    "SOCKET_CONNECT_TIMEOUT": socket_timeout,
                    "SOCKET_TIMEOUT": socket_timeout,
                },
            }
        },
        "LANGUAGE_CODE": "en-us",
        "FORMAT_MODULE_PATH": ["common.formats"],
        "TIME_ZONE": "UTC",
        "USE_I18N": True,
        "USE_TZ": True,
        "STATIC_URL": "static/",
        "STATIC_ROOT": env.path("DJANGO_STATIC_ROOT", default=str(base_dir / "staticfiles")),
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
        ],
        "LOGGING": _logging(env),
        # Celery (read by common.celery with the CELERY_ namespace).
        "CELERY_BROKER_URL": env.str("CELERY_BROKER_URL"),
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
            # How often a worker looks for tasks whose worker died (unacked past the visibility timeout).
            "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=10),
            "unacked_restore_throttle": 1,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            # The task body (JSON text) goes into the queue as it is, not base64 of it: a batch of events
            # is encoded once less (kombu's default, for brokers that only carry bytes, does not apply to Redis).
            "body_encoding": None,
        },
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        "CELERY_TASK_IGNORE_RESULT": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": env.int("CELERY_PREFETCH_MULTIPLIER", default=4),
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
        # Keep a queue worker's Postgres connection across tasks: without it Celery's Django fixup
        # closes it after every task, and each event pays for a new backend (common.celery still drops
        # a connection that broke or outlived CONN_MAX_AGE).
        "CELERY_DB_REUSE_MAX": env.int("CELERY_DB_REUSE_MAX", default=1000),
        "CELERY_TASK_SERIALIZER": "json",
        # process_events' batches travel in a body of their own (common.messaging.event_batch).
        "CELERY_ACCEPT_CONTENT": ["json", EVENT_BATCH_CONTENT_TYPE],
        "CELERY_BEAT_SCHEDULE": {
            "outbox-sweep": {
                "task": "common.outbox.relay_outbox",
                "schedule": timedelta(seconds=outbox_sweep_seconds),
            },
            "outbox-purge": {"task": "common.outbox.purge_sent_outbox", "schedule": timedelta(hours=1)},
            "inbox-purge": {"task": "common.inbox.purge_processed_events", "schedule": timedelta(hours=1)},
        },
        # Kafka and events.
        "KAFKA_BOOTSTRAP_SERVERS": env.list("KAFKA_BOOTSTRAP_SERVERS"),
        "KAFKA_CONSUMER_GROUP": consumer_group,
        "KAFKA_CONSUMED_TOPICS": consumed_topics,
        "KAFKA_DEAD_LETTER_TOPIC": env.str("KAFKA_DEAD_LETTER_TOPIC", default=f"{consumer_group}.dlq"),
        "KAFKA_TOPIC_PARTITIONS": env.int("KAFKA_TOPIC_PARTITIONS", default=3),
        "KAFKA_TOPIC_REPLICATION": env.int("KAFKA_TOPIC_REPLICATION", default=1),
        "KAFKA_SESSION_TIMEOUT_MS": env.int("KAFKA_SESSION_TIMEOUT_MS", default=10000),
        "KAFKA_MAX_POLL_INTERVAL_MS": env.int("KAFKA_MAX_POLL_INTERVAL_MS", default=300000),
        "KAFKA_REQUEST_TIMEOUT_MS": env.int("KAFKA_REQUEST_TIMEOUT_MS", default=10000),
        # How often the relay process (and the queue workers' sweep, for when it is not running)
        # looks for rows whose commit notification it missed.
        "OUTBOX_SWEEP_SECONDS": outbox_sweep_seconds,
        "OUTBOX_BATCH_SIZE": env.int("OUTBOX_BATCH_SIZE", default=500),
        "OUTBOX_RELAY_LINGER_MS": env.float("OUTBOX_RELAY_LINGER_MS", default=30),
        "OUTBOX_PENDING_MAX_AGE_SECONDS": env.int("OUTBOX_PENDING_MAX_AGE_SECONDS", default=60),
        "OUTBOX_RETENTION_HOURS": env.int("OUTBOX_RETENTION_HOURS", default=168),
        "INBOX_RETENTION_DAYS": env.int("INBOX_RETENTION_DAYS", default=30),
        "IDEMPOTENCY_KEY_RETENTION_HOURS": env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=48),
        "EVENT_MAX_ATTEMPTS": env.int("EVENT_MAX_ATTEMPTS", default=5),
        "EVENT_BATCH_SIZE": env.int("EVENT_BATCH_SIZE", default=500),
        # API keys.
        "API_SCOPES": api_scopes,
        "API_KEY_CACHE_SECONDS": env.int("API_KEY_CACHE_SECONDS", default=60),
        "API_KEY_LOCAL_CACHE_SECONDS": env.float("API_KEY_LOCAL_CACHE_SECONDS", default=5),
        # How long a process may answer a cached read from its own memory without asking Redis (0: never).
        "CACHE_LOCAL_SECONDS": env.float("CACHE_LOCAL_SECONDS", default=10),
        "API_RETRY_AFTER_SECONDS": env.int("API_RETRY_AFTER_SECONDS", default=5),
        "CONSUMER_HEARTBEAT_MAX_AGE_SECONDS": env.int("CONSUMER_HEARTBEAT_MAX_AGE_SECONDS", default=60),
    }


def _environment(env: environ.Env) -> str:
    environment = env.str("DJANGO_ENVIRONMENT", default=PRODUCTION)
    if environment not in ENVIRONMENTS:
        raise ImproperlyConfigured(f"DJANGO_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    return environment


def _refuse_unsafe_production(
    *, secret_key: str, audit_key: str, lookup_key: str, debug: bool, allowed_hosts: list[str]
) -> None:
    """Production does not start on settings that would give it away; the message names each variable to set
    and never echoes a value (it ends up in logs)."""
    problems = []
    if not secret_key:
        problems.append("set DJANGO_SECRET_KEY to a long random value (e.g. secrets.token_urlsafe(50))")
    elif _is_weak_secret_key(secret_key):
        problems.append(
            f"DJANGO_SECRET_KEY is weak: set a random one of at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} or more of them different, not a development key"
        )
    if not audit_key:
        problems.append("set AUDIT_HMAC_KEY to a long random value, not the secret key (it signs the audit trail)")
    elif _is_weak_secret_key(audit_key) or audit_key == secret_key:
        problems.append(
            f"AUDIT_HMAC_KEY is weak: set a random one of at least {SECRET_KEY_MIN_LENGTH} characters, "
            "different from DJANGO_SECRET_KEY"
        )
    if not lookup_key:
        problems.append("set CUSTOMER_LOOKUP_KEY to a long random value, the same in both services")
    elif _is_weak_secret_key(lookup_key) or lookup_key in (secret_key, audit_key):
        problems.append(
            f"CUSTOMER_LOOKUP_KEY is weak: set a random one of at least {SECRET_KEY_MIN_LENGTH} characters, "
            "different from DJANGO_SECRET_KEY and AUDIT_HMAC_KEY"
        )
    if debug:
        problems.append("DJANGO_DEBUG is on: unset it (error pages would show settings and code)")
    if not allowed_hosts or "*" in allowed_hosts:
        problems.append("set DJANGO_ALLOWED_HOSTS to the host names the APIs answer to (comma-separated, not *)")
    if problems:
        raise ImproperlyConfigured(
            "unsafe settings for production (DJANGO_ENVIRONMENT unset or production): "
            + "; ".join(problems)
            + ". Only a development or test run sets DJANGO_ENVIRONMENT=local or test."
        )


def _is_weak_secret_key(secret_key: str) -> bool:
    """Weak as ``check --deploy`` judges it, or one of our development keys (each says "insecure")."""
    return (
        len(secret_key) < SECRET_KEY_MIN_LENGTH
        or len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or secret_key.startswith(SECRET_KEY_INSECURE_PREFIX)
        or "insecure" in secret_key.lower()
    )


def _https(env: environ.Env, *, behind_tls: bool) -> dict[str, Any]:
    """Behind a proxy that terminates TLS: cookies travel over HTTPS only, browsers are told to stay on it (HSTS),
    and plain HTTP is redirected.

    The proxy must set X-Forwarded-Proto and drop a client's own: Django trusts it to tell HTTPS from HTTP.
    Health checks are unaffected: ``manage.py health_check`` makes no HTTP request.
    """
    if not behind_tls:
        return {}
    return {
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": env.int("DJANGO_HSTS_SECONDS", default=31536000),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True),
        "SECURE_HSTS_PRELOAD": env.bool("DJANGO_HSTS_PRELOAD", default=True),
    }


def _rate_limits(env: environ.Env) -> dict[str, Any]:
    """Requests per window (``common.ratelimit``), per API key and per client address, reads and writes apart.

    A key may read 50 and write 10 requests a second sustained; an address four times that, since
    several keys (a partner's, a front end's) may share one egress address and requests without a valid
    key count there too.
    """
    return {
        "API_RATE_LIMIT_WINDOW_SECONDS": env.int("API_RATE_LIMIT_WINDOW_SECONDS", default=60),
        "API_RATE_LIMIT_READS_PER_KEY": env.int("API_RATE_LIMIT_READS_PER_KEY", default=3000),
        "API_RATE_LIMIT_WRITES_PER_KEY": env.int("API_RATE_LIMIT_WRITES_PER_KEY", default=600),
        "API_RATE_LIMIT_READS_PER_ADDRESS": env.int("API_RATE_LIMIT_READS_PER_ADDRESS", default=12000),
        "API_RATE_LIMIT_WRITES_PER_ADDRESS": env.int("API_RATE_LIMIT_WRITES_PER_ADDRESS", default=2400),
    }


def _admin_login(env: environ.Env) -> dict[str, Any]:
    """django-axes throttles the admin login: after ``ADMIN_LOGIN_FAILURE_LIMIT`` failures in a row an account is
    locked out at that address for ``ADMIN_LOGIN_LOCKOUT_MINUTES`` (each new try restarts the wait), unless a
    supervisor releases it.

    Counted per (account, address): a stranger who knows an operator's username cannot lock the operator out from
    elsewhere, and the operator's colleagues behind the same address are not locked out with them.
    """
    return {
        "AXES_FAILURE_LIMIT": env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5),
        "AXES_COOLOFF_TIME": timedelta(minutes=env.float("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15)),
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_RESET_ON_SUCCESS": True,
        "AXES_LOCKOUT_CALLABLE": "common.backoffice.views.locked_out",
        "AXES_CLIENT_IP_CALLABLE": "common.addresses.client_address",
        # Reverse proxies in front of the services that append to X-Forwarded-For (0: the peer is the client).
        "TRUSTED_PROXY_COUNT": env.int("TRUSTED_PROXY_COUNT", default=0),
    }


def _logging(env: environ.Env) -> dict[str, Any]:
    """One JSON object per line on stderr (or plain text for humans, LOG_FORMAT=plain)."""
    json_format = env.str("LOG_FORMAT", default="json") == "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "common.observability.LogContextFilter"},
            # What libraries attach to their lines (a request's query string, a task's event, the Kafka
            # client's dumps) never reaches the output.
            "personal_data": {"()": "common.redaction.KeepPersonalDataOut"},
        },
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_format else "plain",
                "filters": ["context", "personal_data"],
            }
        },
        "root": {"handlers": ["stderr"], "level": env.str("LOG_LEVEL", default="INFO")},
        # kafka-python logs every refused connection as an error; our code reports the outcome itself.
        "loggers": {
            "kafka": {"level": env.str("KAFKA_CLIENT_LOG_LEVEL", default="CRITICAL")},
            # One line per task received and succeeded drowns the logs (the sweep runs every few seconds);
            # failures still show, and our own code logs each event's outcome.
            "celery.app.trace": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
            "celery.beat": {"level": "WARNING"},
        },
    }
