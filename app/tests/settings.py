"""The tests run with the app's own settings, production-like (DEBUG off), and a throwaway
secret. DATABASE_URL, when set, runs the same tests on PostgreSQL or MariaDB."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-django-checks")
os.environ.pop("DEBUG", None)

from notesapi.settings import *  # noqa: F403
