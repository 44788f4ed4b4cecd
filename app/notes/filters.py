import django_filters

from .models import Note


class NoteFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(field_name="tags__name", label="Tag name")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Note
        fields = ["pinned", "tag", "created_after", "created_before"]
