"""Project configuration of the shipyard reference app (settings, URLs, WSGI)."""
