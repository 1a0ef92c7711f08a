from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..models import ApiToken
from .serializers import MeSerializer, NewTokenSerializer, TokenSerializer


class Me(generics.RetrieveUpdateAPIView):
    """The signed-in user's profile and roles."""

    serializer_class = MeSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        data = {
            f: serializer.validated_data.get(f, getattr(self.request.user, f))
            for f in ("name", "affiliation", "orcid")
        }
        services.update_profile(self.request.user, request=self.request, **data)


class Tokens(generics.ListCreateAPIView):
    """List your API tokens, or create one (its key is in the answer, once)."""

    permission_classes = [IsAuthenticated]
    serializer_class = TokenSerializer
    pagination_class = None

    def get_queryset(self):
        return self.request.user.api_tokens.all()

    @extend_schema(request=TokenSerializer, responses={201: NewTokenSerializer})
    def post(self, request):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = services.create_token(request.user, serializer.validated_data["name"], request=request)
        body = NewTokenSerializer(token).data | {"key": key}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevoke(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: TokenSerializer})
    def post(self, request, token_id: int):
        try:
            token = services.revoke_token(request.user, token_id, request=request)
        except ApiToken.DoesNotExist as exc:
            raise Http404 from exc
        return Response(TokenSerializer(token).data)
