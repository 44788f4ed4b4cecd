"""Image recipes: the cache key changes exactly when what goes into the image changes."""

import pytest

from shipyard import ROOT, images
from shipyard.shell import ShipyardError


def test_recipe_hash_follows_the_ca_certificates(tmp_path):
    ca = tmp_path / "corp.crt"
    ca.write_text("one")
    os_ = images.lookup("debian12")
    first = images.recipe_hash(os_, [ca])
    assert images.recipe_hash(os_, [ca]) == first
    ca.write_text("two")
    assert images.recipe_hash(os_, [ca]) != first
    assert images.recipe_hash(os_, []) != first


def test_suites_have_distinct_recipes():
    d12, d13 = images.lookup("debian12"), images.lookup("debian13")
    assert images.recipe_hash(d12, []) != images.recipe_hash(d13, [])


def test_unknown_os_names_the_choices():
    with pytest.raises(ShipyardError, match=r"unknown --os 'ubuntu'.*debian12, debian13"):
        images.lookup("ubuntu")


def test_a_box_index_update_waits_for_any_other_shipyard_process(tmp_path, monkeypatch):
    """host.one_index_update_at_a_time is a lock on a file other processes see: while it is held,
    another process (here `flock -n`, which gives up at once) cannot take it; then it can."""
    import subprocess

    from shipyard import host

    monkeypatch.setattr(host, "CACHE", tmp_path)
    lock = tmp_path / "apt-cacher-ng" / "index-update.lock"
    with host.one_index_update_at_a_time():
        assert subprocess.run(["flock", "-n", str(lock), "true"]).returncode != 0
    assert subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0
    # Molecule's prepare step (molecule/shared/prepare.yml) takes the same file.
    prepare = ROOT / "molecule" / "shared" / "prepare.yml"
    assert "shipyard/apt-cacher-ng/index-update.lock" in prepare.read_text()
