# One image for both services (user_manager and credit_manager).
# A container picks its service by working directory: /app/user_manager or
# /app/credit_manager (docker-compose.yaml sets `working_dir`), where
# `python manage.py ...`, `granian ... <svc>.wsgi:application` and `celery -A <svc>` work.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unprivileged user that runs every process of the image.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that code changes do not invalidate this layer.
COPY requirements/base.txt /tmp/requirements/base.txt
RUN pip install -r /tmp/requirements/base.txt

# The shared package, installed (not imported from the source tree).
COPY common /tmp/common
RUN pip install /tmp/common && rm -rf /tmp/common /tmp/requirements

COPY user_manager /app/user_manager
COPY credit_manager /app/credit_manager

# Static files are collected at build time (the api containers serve them
# with whitenoise). Settings need their required variables to import, under
# production's rules (a strong key, allowed hosts); these placeholders and the
# throw-away random key are used for this step only and are not kept in the image.
RUN set -e; \
    for svc in user_manager credit_manager; do \
        cd "/app/$svc"; \
        DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        DJANGO_ALLOWED_HOSTS=build.invalid \
        DATABASE_URL=postgres://build:build@localhost:5432/build \
        CACHE_URL=redis://localhost:6379/0 \
        CELERY_BROKER_URL=redis://localhost:6379/1 \
        KAFKA_BOOTSTRAP_SERVERS=localhost:9092 \
        python manage.py collectstatic --noinput; \
    done

USER app

# No default service: docker-compose.yaml gives each container its
# working_dir and command.
WORKDIR /app
EXPOSE 8000
