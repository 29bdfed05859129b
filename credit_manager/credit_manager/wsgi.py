import os

from django.core.wsgi import get_wsgi_application

from common.startup import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "credit_manager.settings")
application = get_wsgi_application()
freeze_startup_objects(load_urls=True)
