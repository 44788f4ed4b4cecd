"""Behaviour of the python role: apps get venvs; the system interpreter stays apt's (PEP 668)."""

import pytest


def test_system_pip_refuses_to_install(host):
    out = host.run("python3 -m pip install --dry-run six")
    assert out.rc != 0
    assert "externally-managed-environment" in out.stderr


def test_externally_managed_marker_is_kept(host):
    marker = host.check_output(
        "python3 -c 'import sysconfig; print(sysconfig.get_path(\"stdlib\"))'"
    )
    assert host.file(f"{marker}/EXTERNALLY-MANAGED").exists


def test_a_venv_builds_a_c_extension(host):
    """venv, headers and a compiler: what an app's wheels need."""
    out = host.run(
        "rm -rf /tmp/v && python3 -m venv /tmp/v && cd /tmp && "
        'printf \'#include <Python.h>\\nstatic struct PyModuleDef m={PyModuleDef_HEAD_INIT,"cext"};'
        "PyMODINIT_FUNC PyInit_cext(void){return PyModule_Create(&m);}' > cext.c && "
        "gcc -shared -fPIC $(python3-config --includes) cext.c "
        "-o cext$(python3-config --extension-suffix) && "
        "/tmp/v/bin/python -c 'import cext; print(cext.__name__)'"
    )
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "cext"


@pytest.mark.parametrize("command", ["pipx --version", "python3 -m venv --help"])
def test_tools_run(host, command):
    assert host.run(command).rc == 0
