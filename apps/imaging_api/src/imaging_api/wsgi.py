"""WSGI entry point for gunicorn: `gunicorn -c python:imaging_api.gunicorn_conf imaging_api.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imaging_api.settings")

application = get_wsgi_application()
