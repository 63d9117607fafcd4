"""The app's URL rules build their links lazily (bot/app.py, LazyBuildRule): every link is the one werkzeug's own
rules build, with and without extra query values, and matching is unchanged."""
from __future__ import annotations

from werkzeug.routing import Rule

import bot.app
from bot.app import LazyBuildRule, create_app


def _values(rule) -> dict:
    samples = {"IntegerConverter": 7, "PathConverter": "a/b.css"}
    return {arg: samples.get(type(rule._converters[arg]).__name__, "x1") for arg in rule.arguments}


def test_every_rule_builds_and_matches_as_werkzeugs_own(settings, redis_client, monkeypatch):
    lazy = create_app(settings, redis_client)
    monkeypatch.setattr(bot.app, "LazyBuildRule", Rule)
    plain = create_app(settings, redis_client)
    rules = list(lazy.url_map.iter_rules())
    assert len(rules) > 50 and all(isinstance(r, LazyBuildRule) for r in rules if r.endpoint != "static")
    assert not any(isinstance(r, LazyBuildRule) for r in plain.url_map.iter_rules())
    lazy_urls, plain_urls = lazy.url_map.bind("localhost"), plain.url_map.bind("localhost")
    for rule in rules:
        values = _values(rule)
        for extra in ({}, {"page": 2, "q": "张 三"}):
            method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
            built = lazy_urls.build(rule.endpoint, {**values, **extra}, method=method)
            assert built == plain_urls.build(rule.endpoint, {**values, **extra}, method=method), rule
            path = built.split("?")[0]
            assert lazy_urls.match(path, method=method) == plain_urls.match(path, method=method), rule
