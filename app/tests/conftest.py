import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient


@pytest.fixture
def make_user(db):
    def make(username: str = "ada"):
        return get_user_model().objects.create_user(username, f"{username}@example.com", "pw-1234")

    return make


@pytest.fixture
def client_for():
    def login(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return login


@pytest.fixture
def ada(make_user):
    return make_user("ada")


@pytest.fixture
def api(ada, client_for) -> APIClient:
    return client_for(ada)
