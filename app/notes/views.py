from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from .filters import NoteFilter
from .models import Note, Tag
from .permissions import IsOwner
from .serializers import NoteSerializer, TagSerializer, UserSerializer


class NoteViewSet(viewsets.ModelViewSet):
    """The requesting user's notes: list (paginated, filtered, searched, ordered), create, read,
    update, delete. Another user's note is not found."""

    serializer_class = NoteSerializer
    permission_classes = [permissions.IsAuthenticated, IsOwner]
    filterset_class = NoteFilter
    search_fields = ["title", "body"]
    ordering_fields = ["created_at", "updated_at", "title"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Note.objects.none()
        return (
            Note.objects.filter(owner=self.request.user)
            .select_related("owner")
            .prefetch_related("tags")
            .distinct()
        )

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


class TagViewSet(viewsets.ModelViewSet):
    """The requesting user's tags."""

    serializer_class = TagSerializer
    permission_classes = [permissions.IsAuthenticated, IsOwner]
    search_fields = ["name"]
    ordering_fields = ["name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Tag.objects.none()
        return Tag.objects.filter(owner=self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


@extend_schema(responses=UserSerializer)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated])
def me(request: Request) -> Response:
    """The user the request is authenticated as."""
    return Response(UserSerializer(request.user).data)
