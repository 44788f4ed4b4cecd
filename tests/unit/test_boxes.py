"""Box names: checked before Docker is installed or started (pure logic)."""

import pytest

from shipyard import boxes, host
from shipyard.shell import ShipyardError


@pytest.mark.parametrize("name", ["web 1", "Web1", "-web", "web_1", "a" * 42, "box;id", ""])
def test_bad_box_names_are_refused_by_name(name):
    with pytest.raises(ShipyardError, match=r"--name .* is not a usable box name"):
        boxes.check_name(name)


@pytest.mark.parametrize("name", ["debian12", "e2e-main", "web1", "a" * 41])
def test_good_box_names_pass(name):
    boxes.check_name(name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "--name 'Bad Name': give a box name"),
        ({"os": "ubuntu"}, "--os 'ubuntu': give an operating system: debian12, debian13"),
        ({"db": "oracle"}, "--db 'oracle': give a database engine: postgresql, mysql"),
    ],
)
def test_inv_up_checks_its_arguments_before_touching_docker(monkeypatch, kwargs, message):
    from invoke import Context, Exit

    import tasks

    def touched(*_a, **_k):
        raise AssertionError(
            "Docker or the apt cache was touched before the arguments were checked"
        )

    monkeypatch.setattr(host, "ensure_docker", touched)
    monkeypatch.setattr(host, "ensure_apt_cache", touched)
    with pytest.raises(Exit, match=message):
        tasks.up(Context(), **kwargs)
