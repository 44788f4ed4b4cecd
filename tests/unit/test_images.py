"""Image recipes: the cache key changes exactly when what goes into the image changes."""

import pytest

from shipyard import images
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


def test_the_apt_cache_refreshes_the_indexes_the_boxes_sources_name():
    """host.refresh_indexes asks for each suite's InRelease files: the very files a box's
    sources (images.SOURCES) make apt-get update ask for, or the refresh would miss the race."""
    from shipyard import host

    urls = host.index_urls(["bookworm"])
    sources = images.SOURCES.format(suite="bookworm")
    wanted = []
    for stanza in sources.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.strip().splitlines())
        wanted += [f"{fields['URIs']}/dists/{s}/InRelease" for s in fields["Suites"].split()]
    assert sorted(urls) == sorted(wanted)
