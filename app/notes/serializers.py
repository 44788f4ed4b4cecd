from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import Note, Tag


class OwnTagsField(serializers.SlugRelatedField):
    """Tags by name, among the requesting user's own tags only. A name is text like any other
    field's (no NUL, which PostgreSQL refuses) before it reaches a query."""

    def to_internal_value(self, data):
        return super().to_internal_value(serializers.CharField().run_validation(data))

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:  # schema generation
            return Tag.objects.none()
        return Tag.objects.filter(owner=request.user)


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name"]

    def validate_name(self, value: str) -> str:
        user = self.context["request"].user
        taken = Tag.objects.filter(owner=user, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("You already have a tag with this name.")
        return value


class NoteSerializer(serializers.ModelSerializer):
    owner = serializers.ReadOnlyField(source="owner.username")
    tags = OwnTagsField(many=True, slug_field="name", required=False)

    class Meta:
        model = Note
        fields = ["id", "title", "body", "pinned", "tags", "owner", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_title(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A title needs more than spaces.")
        return value.strip()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "is_staff"]
        read_only_fields = fields
