import django_filters
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from .models import Note


class NoNullCharacters(BaseFilterBackend):
    """Every query parameter is refused with a 400 naming it when it holds a NUL character, as the
    serializers refuse one in a body: PostgreSQL cannot compare text holding one (a 500 there).
    First of the filter backends (settings.REST_FRAMEWORK), so it runs before any of them and
    before pagination reads `page`."""

    def filter_queryset(self, request, queryset, view):
        refused = {
            name: [ProhibitNullCharactersValidator.message]
            for name, values in request.query_params.lists()
            if any("\x00" in v for v in values) or "\x00" in name
        }
        if refused:
            raise ValidationError(refused)
        return queryset


class NoteFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(field_name="tags__name", label="Tag name")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Note
        fields = ["pinned", "tag", "created_after", "created_before"]
