"""Settings for the test suite: the production settings plus a throwaway secret key.

pytest-django loads settings before any conftest runs, so the test-only key is set here and only
when the environment does not already provide one.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")

# pylint: disable-next=wildcard-import,unused-wildcard-import,wrong-import-position
from config.settings import *  # noqa: E402,F401,F403
