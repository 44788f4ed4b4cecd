"""WSGI entry point (gunicorn notesapi.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notesapi.settings")

application = get_wsgi_application()
