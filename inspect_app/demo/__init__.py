"""A deterministic demo district: areas, users, buildings, a campaign and months of history.

``generate`` fills an empty database (schema at head) with a plausible 綦江区: streets,
communities and grids; N high-rise buildings with their registry data; one user per role; the
year's “除险清患” campaign; and about 120 days of inspections, findings, rectification ledger
rows with their histories, and supervision listings (挂牌督办), covering every state a user
can meet.

Reproducibility: every value comes from ``random.Random`` streams seeded from ``seed`` and
all times derive from ``today``, so the same ``seed``, ``today`` and ``buildings`` give the
same rows (ids included, on an empty database). Three columns are deliberately *not*
reproducible because they are secrets or security nonces: ``Building.qr_token`` (from
``new_qr_token()``, the public code must not be guessable from the seed), ``User.session_nonce``
and the salt inside ``User.password_hash``.

Scale: registry and history rows are built as plain dicts and written with bulk Core
``INSERT``s in chunks of a few thousand rows, a thousand buildings at a time, so memory stays
flat. Ids are assigned here (after the current maximum of each table; PostgreSQL sequences are
moved past them afterwards), which lets findings, hazards and events reference each other
without a round trip. Nothing is thinned out for size: about 60 % of the buildings (80 % in the
inspector's grid) are surveyed, every inspection answers every applicable checklist item with
one finding, and hazards come only from failed findings. 50,000 buildings (≈ 1.9 million
findings) take 30–40 seconds on SQLite.

Needs an application context (the district's time zone and the deadline settings come from the
app's configuration).

Its parts, in the order ``generate`` uses them:

- :mod:`.generator`: ``generate`` and ``DemoResult``;
- :mod:`.settings`: sizes, shares, rates, showcase days and states, readings; local times;
- :mod:`.words`: place names, estates, companies, people, locations, funding, measures;
- :mod:`.district`: the checklist, the areas, the demo accounts and the campaign;
- :mod:`.buildings`: the building plans (rows, class, flags, management, showcases);
- :mod:`.bulk`: ids assigned here, chunked inserts, PostgreSQL sequences;
- :mod:`.context`: the plain objects the history pass reads;
- :mod:`.history`: every building's visits, written in batches;
- :mod:`.findings`: the answer to each item of a visit;
- :mod:`.hazards`: hazards in today's state, their changes and events, supervision listings.

Only the names below are the package's interface; everything else is internal to it.
"""

from .district import DEMO_USERS
from .generator import DemoResult, generate
from .settings import DEFAULT_TIMEZONE, HISTORY_DAYS, MIN_FULL_DEMO

__all__ = [
    "DEFAULT_TIMEZONE",
    "DEMO_USERS",
    "HISTORY_DAYS",
    "MIN_FULL_DEMO",
    "DemoResult",
    "generate",
]
