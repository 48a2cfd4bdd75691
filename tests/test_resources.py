"""The shipped hooks/ and templates/ folders are found, installed or in a checkout."""

from __future__ import annotations

import pytest

from ossa_hooks import resources
from ossa_hooks.errors import OssaError


def test_shim_and_default_config_are_shipped() -> None:
    assert (resources.data_dir("hooks") / "shim.sh").read_text().startswith("#!/bin/sh")
    assert resources.template("ossa-hooks.yaml").read_text().startswith("# ossa-hooks")


def test_a_missing_folder_is_a_one_line_error() -> None:
    with pytest.raises(OssaError) as info:
        resources.data_dir("no-such-folder")
    assert "reinstall ossa-hooks" in info.value.message
