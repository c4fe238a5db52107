"""The image copies every package that `pip install .` installs: a package left out (core, access, audit,
recommendations, assistant and privacy were) gives an image whose `manage.py` cannot import its settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_dockerfile_copies_every_installed_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), flags=re.M))
    assert packages - copied == set(), f"packages not copied into the image: {sorted(packages - copied)}"
    assert all((ROOT / name / "__init__.py").exists() for name in packages)
