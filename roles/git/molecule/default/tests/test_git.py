"""Behaviour of the git role: the user's commits carry the configured identity and branch."""

import pytest


@pytest.mark.parametrize(
    ("key", "value"),
    [("user.name", "Dev Eloper"), ("user.email", "dev@example.com"), ("pull.rebase", "true")],
)
def test_global_config(host, key, value):
    with host.sudo("dev"):
        assert host.check_output(f"git config --global {key}") == value


def test_new_repository_commits_on_configured_branch(host):
    with host.sudo("dev"):
        out = host.run(
            "rm -rf /tmp/repo && git init -q /tmp/repo && cd /tmp/repo && "
            "git commit -q --allow-empty -m first && "
            "git branch --show-current && git log -1 --format=%ae"
        )
    assert out.rc == 0, out.stderr
    assert out.stdout.split() == ["trunk", "dev@example.com"]
