"""Who is a 1:1 with whom.

Participants are the organizer and the attendees, compared by lowercase email;
rooms and resources are not people. An event is a 1:1 with person P when the
owner takes part and P is the only other person. An event with no participant
but the owner, or none at all, is a 1:1 with P when its title carries a 1:1
marker and names exactly one configured person. All-day events never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.config import Config
from daemon.core.model import Event

# "1:1", "1-1", "1on1", "1 on 1", "one-on-one", "one on one" (any case, plural allowed);
# not inside times or dates such as "11:15", "1:1:30" or "2021-1-15"; a colon may follow
# ("One on One: Ada").
MARKER = re.compile(
    r"(?<![\w:./\-])(?:1[:\-]1|1 ?on ?1|one[- ]on[- ]one)s?(?![\w/\-]|:\d)", re.IGNORECASE
)


# Google names rooms and resources with addresses in this domain, with no CUTYPE.
GOOGLE_RESOURCE_DOMAIN = "@resource.calendar.google.com"


def has_marker(title: str) -> bool:
    """True when the title carries a 1:1 marker."""
    return MARKER.search(title) is not None


def is_resource_address(email: str) -> bool:
    """A room's or resource's address (not a person), by its lowercase email."""
    return email.endswith(GOOGLE_RESOURCE_DOMAIN)


@dataclass(frozen=True, slots=True)
class Sketch:
    """What a connector can tell about an event before parsing it fully."""

    uid: str
    summary: str
    participants: frozenset[str]  # lowercase emails, rooms and resources excluded


def _word(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(term.strip()) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Directory:
    """The owner's addresses and the configured people, for matching events."""

    owner: frozenset[str]
    canonical: dict[str, str]  # any known address -> the person's primary email
    names: dict[str, str]  # primary email -> display name
    full_terms: tuple[tuple[str, re.Pattern[str]], ...]  # (email, full name or alias)
    first_terms: tuple[tuple[str, re.Pattern[str]], ...]  # (email, first name)

    @classmethod
    def from_config(cls, config: Config) -> Directory:
        canonical: dict[str, str] = {}
        names: dict[str, str] = {}
        full: list[tuple[str, re.Pattern[str]]] = []
        first: list[tuple[str, re.Pattern[str]]] = []
        for person in config.people:
            canonical[person.email] = person.email
            for alias in person.alias_emails:
                canonical[alias] = person.email
            names[person.email] = person.name
            full.append((person.email, _word(person.name)))
            full.extend((person.email, _word(a)) for a in person.alias_names if a.strip())
            given = person.name.split()[0]
            if given.lower() != person.name.lower():
                first.append((person.email, _word(given)))
        return cls(config.owner.addresses, canonical, names, tuple(full), tuple(first))

    def person_of(self, email: str) -> str:
        return self.canonical.get(email, email)

    def named_in(self, title: str) -> str | None:
        """The one configured person a title names, or None (nobody, or ambiguous).

        Full names and aliases are more specific than first names: when any
        person is named by full name or alias, first names are not considered,
        so "1:1 Alex Kim" names Alex Kim even when an Alex Park is configured.
        """
        for terms in (self.full_terms, self.first_terms):
            found = {email for email, pattern in terms if pattern.search(title)}
            if found:
                return found.pop() if len(found) == 1 else None
        return None

    def _match(self, emails: frozenset[str] | set[str], title: str) -> str | None:
        people = {self.person_of(e) for e in emails}
        has_owner = bool(people & self.owner)
        others = people - self.owner
        if has_owner and len(others) == 1:
            return others.pop()
        if not others and has_marker(title):
            return self.named_in(title)
        return None

    def counterpart(self, event: Event) -> str | None:
        """The primary email of the person this event is a 1:1 with, or None."""
        if event.all_day:
            return None
        return self._match({p.email for p in event.participants()}, event.summary)

    def could_be_one_on_one(self, sketch: Sketch) -> bool:
        """The same test on what a connector sketched before parsing the event.

        Connectors use it to skip parsing events that cannot matter (group
        meetings). The all-day check is left to the full rule, so this is never
        false for an event :meth:`counterpart` would accept.
        """
        return self._match(sketch.participants, sketch.summary) is not None
