"""Feature handlers. Each module registers its handlers on the one router below.

Order matters only for patterns: the first registered pattern that matches wins.
"""
from handlers.router import Router

router = Router()

from handlers import general, jobs, profile, quiz, volunteer  # noqa: E402,F401  (registers handlers on import)
