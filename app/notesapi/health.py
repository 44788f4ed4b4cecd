"""/healthz: may this release take traffic? Cheap (one SELECT 1, no writes), no login. It names
the host that answered: behind a load balancer, which web host served the request."""

import socket

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        body = {"status": "unavailable", "release": settings.RELEASE_ID, "database": "unreachable"}
        return JsonResponse({**body, "host": socket.gethostname()}, status=503)
    body = {"status": "ok", "release": settings.RELEASE_ID, "database": "ok"}
    return JsonResponse({**body, "host": socket.gethostname()})
