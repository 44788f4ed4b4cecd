"""The notes API through DRF's test client: happy paths, permission edges, validation,
pagination, filtering, search and ordering. Nothing here assumes sqlite."""

import pytest
from notes.models import Note, Tag
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def create(api, **fields):
    response = api.post("/api/notes/", {"title": "A note", **fields}, format="json")
    assert response.status_code == 201, response.data
    return response.data


def test_anonymous_requests_are_refused_with_401():
    client = APIClient()
    for url in ("/api/notes/", "/api/tags/", "/api/me/"):
        response = client.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Token")


def test_create_read_update_delete(api, ada):
    note = create(api, body="first draft")
    assert note["owner"] == "ada"
    url = f"/api/notes/{note['id']}/"
    assert api.get(url).data["body"] == "first draft"
    assert (
        api.patch(url, {"body": "second draft", "pinned": True}, format="json").status_code == 200
    )
    updated = api.get(url).data
    assert (updated["body"], updated["pinned"]) == ("second draft", True)
    full = {"title": "Renamed", "body": "", "pinned": False, "tags": []}
    assert api.put(url, full, format="json").data["title"] == "Renamed"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not Note.objects.filter(owner=ada).exists()


def test_another_users_note_is_invisible_and_unchangeable(api, make_user, client_for):
    note = create(api, title="Private")
    bob = client_for(make_user("bob"))
    url = f"/api/notes/{note['id']}/"
    assert bob.get("/api/notes/").data["count"] == 0
    assert bob.get(url).status_code == 404
    assert bob.patch(url, {"title": "Mine now"}, format="json").status_code == 404
    assert bob.delete(url).status_code == 404
    assert api.get(url).data["title"] == "Private"


def test_notes_take_the_users_own_tags_by_name(api, make_user, client_for):
    assert api.post("/api/tags/", {"name": "work"}, format="json").status_code == 201
    note = create(api, tags=["work"])
    assert note["tags"] == ["work"]
    bob = client_for(make_user("bob"))
    response = bob.post("/api/notes/", {"title": "x", "tags": ["work"]}, format="json")
    assert response.status_code == 400
    assert "tags" in response.data  # ada's tag is not bob's


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "pinned": "perhaps"}, "pinned"),
        ({"title": "ok", "tags": ["no-such-tag"]}, "tags"),
    ],
)
def test_invalid_notes_get_a_400_naming_the_field(api, payload, field):
    response = api.post("/api/notes/", payload, format="json")
    assert response.status_code == 400
    assert field in response.data


def test_duplicate_tag_names_are_refused(api):
    assert api.post("/api/tags/", {"name": "home"}, format="json").status_code == 201
    response = api.post("/api/tags/", {"name": "home"}, format="json")
    assert response.status_code == 400
    assert "name" in response.data


def test_tags_of_another_user_are_invisible(api, make_user, client_for):
    tag = api.post("/api/tags/", {"name": "work"}, format="json").data
    bob = client_for(make_user("bob"))
    assert bob.get("/api/tags/").data["count"] == 0
    assert bob.delete(f"/api/tags/{tag['id']}/").status_code == 404
    assert Tag.objects.filter(pk=tag["id"]).exists()


def test_lists_are_paginated(api):
    for i in range(25):
        create(api, title=f"Note {i:02d}")
    first = api.get("/api/notes/").data
    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"].endswith("/api/notes/?page=2")
    second = api.get("/api/notes/?page=2").data
    assert len(second["results"]) == 5
    assert second["next"] is None


def test_filter_by_pinned_and_tag(api):
    api.post("/api/tags/", {"name": "work"}, format="json")
    create(api, title="pinned work", pinned=True, tags=["work"])
    create(api, title="pinned", pinned=True)
    create(api, title="plain")
    pinned = api.get("/api/notes/?pinned=true").data
    assert sorted(n["title"] for n in pinned["results"]) == ["pinned", "pinned work"]
    tagged = api.get("/api/notes/?tag=work").data
    assert [n["title"] for n in tagged["results"]] == ["pinned work"]


def test_search_and_ordering(api):
    create(api, title="Banana bread", body="flour, bananas")
    create(api, title="Apple pie", body="apples")
    create(api, title="Shopping", body="buy bananas")
    found = api.get("/api/notes/?search=banana").data
    assert sorted(n["title"] for n in found["results"]) == ["Banana bread", "Shopping"]
    ordered = api.get("/api/notes/?ordering=title").data
    assert [n["title"] for n in ordered["results"]] == ["Apple pie", "Banana bread", "Shopping"]
    newest_first = api.get("/api/notes/?ordering=-created_at").data
    assert newest_first["results"][0]["title"] == "Shopping"


def test_me_is_the_authenticated_user(api):
    assert api.get("/api/me/").data["username"] == "ada"


def test_a_token_is_issued_for_a_username_and_password(ada):
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"username": "ada", "password": "pw-1234"}, format="json"
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert client.get("/api/notes/").status_code == 200
    wrong = APIClient().post("/api/auth/token/", {"username": "ada", "password": "nope"})
    assert wrong.status_code == 400


# PostgreSQL refuses a NUL character in text, so one that reached a query was a 500 there (sqlite
# stores it). Every text the API takes is refused with a 400 naming the field, on every engine:
# the deploy tests run this file on the box's PostgreSQL and MariaDB too.
NUL = "a\x00b"
NULL_MESSAGE = "Null characters are not allowed."


@pytest.mark.parametrize(
    ("field", "value"), [("title", NUL), ("body", NUL), ("tags", [NUL]), ("tags", ["ok", NUL])]
)
def test_a_nul_character_in_a_note_is_refused_naming_the_field(api, ada, field, value):
    Tag.objects.create(owner=ada, name="ok")
    for method, url in (("post", "/api/notes/"), ("put", f"/api/notes/{create(api)['id']}/")):
        body = {"title": "A note", field: value}
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 400, (method, response.status_code)
        assert NULL_MESSAGE in str(response.data[field]), response.data


def test_a_nul_character_in_a_tag_name_is_refused(api):
    response = api.post("/api/tags/", {"name": NUL}, format="json")
    assert response.status_code == 400
    assert "name" in response.data


QUERY_PARAMETERS = {
    "/api/notes/": [
        "search",
        "tag",
        "ordering",
        "pinned",
        "created_after",
        "created_before",
        "page",
    ],
    "/api/tags/": ["search", "ordering", "page"],
}


@pytest.mark.parametrize(
    ("url", "parameter"), [(u, p) for u, params in QUERY_PARAMETERS.items() for p in params]
)
def test_a_nul_character_in_a_query_parameter_is_refused_naming_it(api, url, parameter):
    create(api)
    response = api.get(url, {parameter: NUL})
    assert response.status_code == 400, response.status_code
    assert NULL_MESSAGE in str(response.data[parameter]), response.data


def test_a_nul_character_in_a_note_detail_query_is_refused(api):
    note = create(api)
    response = api.get(f"/api/notes/{note['id']}/", {"tag": NUL})
    assert response.status_code == 400
