"""Conversation prompts for a meeting section: the bank and the choice, pure.

Four themes, each resting on the one before: trust, clarity (expectations and
direction), execution (the work and what is in its way), development (growth).
``choose`` picks one theme per meeting and a few of its prompts:

* the theme: a weighted pick. Young relationships (under 8 weeks) lean on trust, the
  middle months are even, older ones (over ~6 months) lean on development. The theme
  of the last section is never picked again, the one before it gets a third of its
  weight, the one before that two thirds — so the four rotate;
* the prompts: ``count`` of that theme, none of ``recent_prompts`` while enough
  others are left (then the longest unused come back first);
* deterministic: the randomness is seeded with a hash of the meeting key, so running
  again for the same meeting gives the same section.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

THEMES = ("trust", "clarity", "execution", "development")

BANK: dict[str, tuple[str, ...]] = {
    "trust": (
        "How are you really doing, beyond the work?",
        "What was the best part of your week, in or out of work?",
        "Is anything on your mind that hasn't found a place to land yet?",
        "How did the thing you mentioned last time turn out?",
        "What should I know about how you like to work that I might have missed?",
        "Did I do anything lately that made your week harder?",
        "What are you looking forward to outside work in the next few weeks?",
        "Is there something you'd rather raise here than in front of the team?",
        "What's one thing I could do to be more useful to you?",
    ),
    "clarity": (
        "Is it clear what's expected of you this quarter? Where is it fuzzy?",
        "In one sentence, what do you think our team is here to do?",
        "Did anything in the latest all-hands or announcement confuse or surprise you?",
        "If you had to drop one of your current priorities, which would it be?",
        "How does what you're working on connect to what the company cares about now?",
        "Is there a recent decision where you'd like to hear the why?",
        "Where might your picture of your role differ from mine?",
        "When priorities clash, who do you go to, and does that work?",
        "What would you like to hear from me that you're not hearing?",
    ),
    "execution": (
        "What's getting in your way the most right now?",
        "What are you proud of getting done since we last talked?",
        "Where is your time going that feels wasted?",
        "Is anything on your plate that should be someone else's, or nobody's?",
        "What's at risk of slipping, and what would help?",
        "Which review, hand-off or process slowed you down lately?",
        "Where should I step in, and where should I get out of the way?",
        "How sustainable does your current pace feel?",
        "What did the last thing that went wrong teach you?",
    ),
    "development": (
        "Where would you like to be in two years, and what's the next step toward it?",
        "Which skill do you want to get noticeably better at this quarter?",
        "What kind of work gives you energy that you'd like more of?",
        "How is your development plan going since we last looked at it?",
        "Is there a stretch project or role you'd like me to watch out for?",
        "Who would you like to learn from, on the team or outside it?",
        "What feedback would help you most right now?",
        "What did you learn recently that the rest of the team should hear?",
        "At the end of this quarter, how will we know you grew the way you wanted?",
    ),
}

YOUNG_DAYS = 56  # the first ~8 weeks
MATURE_DAYS = 182  # about six months
_WEIGHTS = {  # trust, clarity, execution, development
    "young": (4.0, 3.0, 2.0, 1.0),
    "middle": (2.0, 3.0, 3.0, 2.0),
    "mature": (2.0, 2.0, 3.0, 4.0),
}
_RECENCY = (0.0, 1 / 3, 2 / 3)  # the last theme, the one before, the one before that


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _rng(meeting_key: str) -> random.Random:
    digest = hashlib.sha256(meeting_key.encode("utf-8", "surrogatepass")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - not security


def theme_weights(relationship_age_days: int, recent_themes: Sequence[str]) -> dict[str, float]:
    """How likely each theme is for the next section."""
    if relationship_age_days < YOUNG_DAYS:
        base = _WEIGHTS["young"]
    elif relationship_age_days < MATURE_DAYS:
        base = _WEIGHTS["middle"]
    else:
        base = _WEIGHTS["mature"]
    weights = dict(zip(THEMES, base, strict=True))
    distinct: list[str] = []
    for theme in recent_themes:
        folded = _fold(theme)
        if folded in weights and folded not in distinct:
            distinct.append(folded)
    for theme, factor in zip(distinct, _RECENCY, strict=False):
        weights[theme] *= factor
    return weights


def choose(*, meeting_key: str, relationship_age_days: int, recent_themes: Sequence[str],
           recent_prompts: Sequence[str], count: int = 3) -> tuple[str, tuple[str, ...]]:
    """The theme and ``count`` prompts for the section of ``meeting_key``.

    ``recent_themes`` and ``recent_prompts``: from the latest sections, newest first.
    """
    rng = _rng(meeting_key)
    weights = theme_weights(relationship_age_days, recent_themes)
    total = sum(weights.values())
    pick = rng.random() * total
    theme = THEMES[-1]
    for name in THEMES:
        if pick < weights[name]:
            theme = name
            break
        pick -= weights[name]
    bank = BANK[theme]
    count = max(0, min(count, len(bank)))
    used = [_fold(p) for p in recent_prompts]
    fresh = [p for p in bank if _fold(p) not in used]
    rng.shuffle(fresh)
    chosen = fresh[:count]
    if len(chosen) < count:  # the least recently used come back first
        stale = sorted((p for p in bank if _fold(p) in used),
                       key=lambda p: used.index(_fold(p)), reverse=True)
        chosen += stale[: count - len(chosen)]
    return theme, tuple(chosen)
