"""Staging: the service as docs/operations.md installs it — from the built wheel, in a virtualenv outside
the checkout, started with the systemd units' own ExecStart lines, behind Debian's nginx with the shipped site.

Nothing here imports the checkout's code into the service: the processes run the installed package.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bot.config import PROJECT_DIR

pytestmark = pytest.mark.slow


def _tracked(*patterns: str) -> set[str]:
    out = subprocess.run(["git", "-C", str(PROJECT_DIR), "ls-files", "--", *patterns], capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked sdist): every file on disk
        return {p.relative_to(PROJECT_DIR).as_posix() for pat in patterns for p in PROJECT_DIR.glob(pat) if p.is_file()}
    return set(out.stdout.split())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """`python -m build`: the sdist, and the wheel built from that sdist (what pip installs)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(PROJECT_DIR)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel], [sdist] = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_and_sdist_carry_every_template_static_file_and_the_content(built):
    templates = _tracked("bot/**/templates/**", "bot/templates/**", "bot/**/static/**")
    content = _tracked("content/**")
    assert any("admin/login.html" in t for t in templates) and any(t.endswith(".css") for t in templates)
    assert "content/texts/general.yaml" in content and "content/menu.yaml" in content
    in_wheel = set(zipfile.ZipFile(built["wheel"]).namelist())
    missing = sorted(t for t in templates if t not in in_wheel)
    missing += sorted(c for c in content if "bot/" + c not in in_wheel)
    assert not missing, f"not in {built['wheel'].name}: {missing}"
    with tarfile.open(built["sdist"]) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = sorted(f for f in templates | content | _tracked("deploy/**") if f not in in_sdist)
    assert not missing, f"not in {built['sdist'].name}: {missing}"
    print(f"{built['wheel'].name}: {len(in_wheel)} files, {len(templates)} templates/static, {len(content)} content")
