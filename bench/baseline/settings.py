"""user_manager's settings with the trivial view as the only URL.

The baseline server runs user_manager's WSGI module with this settings module: the same
middleware, database, cache and logging as the API; only ``ROOT_URLCONF`` differs.
"""

from user_manager.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline.urls"
