from django.contrib import admin

from .models import Note, Tag


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "pinned", "updated_at"]
    list_filter = ["pinned", "tags"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["tags"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "owner"]
    search_fields = ["name"]
