"""Views of the reference app: the catalog JSON API, the health check and the Vue page."""

import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from catalog.models import Item

logger = logging.getLogger(__name__)

# The list endpoint returns at most this many items, newest first.
MAX_LISTED_ITEMS = 100


def _error(message, status):
    return JsonResponse({"error": message}, status=status)


# The API uses no cookies or sessions (there is no login), so a cross-site request carries no
# credentials that CSRF protection would guard; exempting it lets plain JSON clients post.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def items(request):
    """GET lists the newest items; POST {"name": "..."} creates one and answers 201 with it."""
    if request.method == "GET":
        listed = Item.objects.all()[:MAX_LISTED_ITEMS]
        return JsonResponse({"items": [item.as_dict() for item in listed]})

    if request.content_type != "application/json":
        return _error("send the item as JSON with Content-Type: application/json", 415)
    try:
        payload = json.loads(request.body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _error('the body is not valid JSON: send {"name": "..."}', 400)
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return _error('"name" is missing or not a string: send {"name": "..."}', 400)

    item = Item(name=payload["name"].strip())
    try:
        item.full_clean()
    except ValidationError as err:
        messages = "; ".join(err.message_dict.get("name", err.messages))
        return _error(f'"name" is not valid: {messages}', 400)
    item.save()
    return JsonResponse(item.as_dict(), status=201)


@require_GET
def healthz(_request):
    """Answer {"status": "ok"} when the database answers a query, else 503."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        logger.error("health check failed: the database did not answer: %s", first_line)
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
def index(_request):
    """Serve the Vue app's index.html; its assets are static files under STATIC_URL."""
    index_file = Path(settings.FRONTEND_DIST) / "index.html"
    try:
        html = index_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HttpResponseNotFound(
            f"The front end is not built: run `npm ci && npm run build` in frontend/ "
            f"(looked for {index_file}). The API is at /api/items.",
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(html, content_type="text/html; charset=utf-8")
