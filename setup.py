"""Packaging hook: the wheel carries the default content folder as bot/content.

Everything else is in pyproject.toml. Developers keep editing `content/` at the
top of the checkout (bot.config uses it when there is no bot/content beside
the code); an installed service (`pip install /opt/youthbot`, no checkout
needed afterwards) finds its copy inside the package.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithContent(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads content/ from the checkout
        source = HERE / "content"
        if source.is_dir():
            target = Path(self.build_lib) / "bot" / "content"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithContent})
