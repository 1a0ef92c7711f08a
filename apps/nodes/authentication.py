"""``Authorization: Bearer qn_…``: a node's token on the node API (DRF authentication).

Missing, unknown and revoked tokens are 401 (``{"detail": …}``); an inactive operator's too. The user is
the node's operator (so the audit trail names a person) and ``request.auth`` is the ``Node``; whether the
operator still holds the node_operator role is the permission's question (403,
``apps.access.permissions.IsNodeOperator``).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.audit.context import mark_auth_system

from .models import Node


class NodeTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None  # → 401 "credentials were not provided" (authenticate_header makes it a 401)
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the node's token as 'Authorization: Bearer qn_…'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("The token contains invalid characters.") from exc
        node = Node.lookup(key)
        if node is None or not node.operator.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked node token.")
        mark_auth_system(request, "node-token")
        return node.operator, node

    def authenticate_header(self, request):
        return 'Bearer realm="nodes"'


class NodeTokenScheme(OpenApiAuthenticationExtension):
    target_class = NodeTokenAuthentication
    name = "NodeToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A node token (`qn_…`) from /nodes/mine/, sent as `Authorization: Bearer qn_…`.",
        }
