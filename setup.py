"""Compiles the translation catalogues (`.po` sources into `.mo`) whenever the project is
built or installed, editable installs included, so that no compiled binary is committed and
none can go stale. Everything else about the project is in pyproject.toml."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

LOCALES = Path(__file__).parent / "presentation" / "telegram" / "locales"


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        for source in sorted(LOCALES.glob("*/LC_MESSAGES/*.po")):
            with source.open("rb") as po:
                catalog = read_po(po, locale=source.parent.parent.name)
            with source.with_suffix(".mo").open("wb") as mo:
                write_mo(mo, catalog)  # fuzzy entries left out, as `pybabel compile` does
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})
