from common.celery import create_celery_app

app = create_celery_app("credit_manager")
