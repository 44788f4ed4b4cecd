from rest_framework import permissions


class IsOwner(permissions.BasePermission):
    """Object level: only the owner may see or change a note or tag. The viewsets' querysets
    already hold only the user's own objects (others' are 404); this guards any other route."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.owner_id == request.user.id
