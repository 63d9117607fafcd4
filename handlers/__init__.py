"""Chat: the feature handlers, and the one router that lists them.

Each feature module owns a Router; build_router() includes them in the order
below, the way a Flask app registers its blueprints. Order matters only for
patterns (the first that matches wins); a keyword, click key, event or state
claimed twice is an error here, at start-up.
"""
from __future__ import annotations

from handlers import general, jobs, profile, quiz, volunteer
from handlers.router import Router

FEATURES = (general, jobs, profile, quiz, volunteer)


def build_router() -> Router:
    router = Router()
    for feature in FEATURES:
        router.include(feature.router)
    return router
