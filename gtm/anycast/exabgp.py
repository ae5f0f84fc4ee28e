"""ExaBGP's text process API: the command for each UPDATE, and what ExaBGP answers. Pure.

ExaBGP runs `gtm announce --exabgp` as a `process` (encoder text): every line gtm writes to
stdout is a command (`announce route …`, `withdraw route …`), and with acknowledgements on
(ExaBGP's default) ExaBGP writes `done` or `error` back to gtm's stdin for each, and
`shutdown` when it stops. ExaBGP adds its own AS to the path on eBGP sessions, so a pool's
`prepend: N` becomes N extra copies of its AS in `as-path`.
"""

from __future__ import annotations

from enum import StrEnum

from gtm.anycast.rib import Action, Update


def command(update: Update) -> str:
    """The API command that carries `update` to ExaBGP."""
    route = update.route
    pop = route.pop
    if update.action is Action.WITHDRAW:
        return f"withdraw route {route.prefix} next-hop {pop.next_hop}"
    parts = [f"announce route {route.prefix} next-hop {pop.next_hop}"]
    if pop.prepend:
        parts.append("as-path [ " + " ".join([str(pop.asn)] * pop.prepend) + " ]")
    standard = [c for c in pop.communities if c.count(":") == 1]
    large = [c for c in pop.communities if c.count(":") == 2]
    if standard:
        parts.append("community [ " + " ".join(standard) + " ]")
    if large:
        parts.append("large-community [ " + " ".join(large) + " ]")
    return " ".join(parts)


class Answer(StrEnum):
    DONE = "done"
    ERROR = "error"
    SHUTDOWN = "shutdown"
    OTHER = "other"


def answer(line: str) -> Answer:
    """What a line ExaBGP wrote to our stdin says (text or JSON encoder)."""
    text = line.strip()
    if text.startswith("{"):  # {"answer": "done", ...} with the JSON encoder
        for kind in (Answer.DONE, Answer.ERROR, Answer.SHUTDOWN):
            if f'"answer": "{kind.value}"' in text or f'"answer":"{kind.value}"' in text:
                return kind
        return Answer.OTHER
    try:
        return Answer(text)
    except ValueError:
        return Answer.OTHER
