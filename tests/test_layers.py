"""The structure: imports point down, routes are claimed once, every text is asked for and exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from handlers import build_router
from handlers.router import DuplicateRoute, Router

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    # In its own process: import-linter's logging.config.dictConfig would disable every logger that
    # exists and drop the root handlers for the rest of the test run.
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                             f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}))"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_keyword_claimed_twice_is_an_error_at_start_up():
    first, second = Router(), Router()
    first.keyword("志愿")(lambda ctx: "a")
    second.keyword("志愿")(lambda ctx: "b")
    with pytest.raises(DuplicateRoute, match="志愿"):
        Router().include(first).include(second)


def test_a_state_or_click_claimed_twice_in_one_router_is_an_error():
    r = Router()
    r.state("x.y")(lambda ctx: "a")
    with pytest.raises(DuplicateRoute):
        r.state("x.y")(lambda ctx: "b")
    r.click("HELP")(lambda ctx: "a")
    with pytest.raises(DuplicateRoute):
        r.click("HELP")(lambda ctx: "b")


def test_the_bot_router_has_every_feature_and_one_fallback():
    router = build_router()
    assert {"志愿", "答题", "岗位", "帮助", "删除我的信息"} <= set(router.keywords)
    assert {"quiz.answer", "profile.phone", "jobs.note", "branch.choose", "forget.confirm"} <= set(router.states)
    assert set(router.returns) == {"signup", "jobs_interest", "certificate", "correct"}
    assert router.fallback_handler is not None and router.non_text_handler is not None


def _text_keys() -> set[str]:
    keys = set()
    for path in (ROOT / "content" / "texts").glob("*.yaml"):
        def walk(prefix, data):
            if isinstance(data, dict):
                for k, v in data.items():
                    walk(f"{prefix}.{k}", v)
            else:
                keys.add(prefix)
        walk(path.stem, yaml.safe_load(path.read_text(encoding="utf-8")))
    return keys


def _asked_for() -> tuple[set[str], set[str]]:
    """Text keys named in the code: exact ones, and prefixes of keys built at run time
    (f"volunteer.refused_{reason}", "profile.ask_" + step)."""
    stems = "|".join(p.stem for p in (ROOT / "content" / "texts").glob("*.yaml"))
    literal = re.compile(r"""(f?)["']((?:%s)\.[a-z0-9_.{}]*)["']""" % stems)
    exact, prefixes = set(), set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        for is_f, name in literal.findall(path.read_text(encoding="utf-8")):
            if is_f and "{" in name:
                prefixes.add(name.split("{")[0])
            elif name.endswith(("_", ".")):
                prefixes.add(name)
            else:
                exact.add(name)
    return exact - set(build_router().states), prefixes  # "quiz.answer" is a state, not a text


def test_every_text_the_code_asks_for_exists():
    keys = _text_keys()
    exact, prefixes = _asked_for()
    assert exact - keys == set()
    assert [p for p in prefixes if not any(k.startswith(p) for k in keys)] == []


def test_every_text_in_content_is_used():
    exact, prefixes = _asked_for()
    prefixes.add("flows.")  # conversation titles, looked up by the flow's name when one expires
    unused = sorted(k for k in _text_keys() if k not in exact and not any(k.startswith(p) for p in prefixes))
    assert unused == []
