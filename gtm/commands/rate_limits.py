"""`gtm serve`'s response rate limiting flags, BIND's options by name (each with a GTM_RRL_*
variable), and the settings they make."""

from __future__ import annotations

import argparse

from gtm.commands.options import Parser, env
from gtm.dns.rrl import RrlSettings, parse_network
from gtm.model.errors import UsageError

# flag (without --rrl-), its RrlSettings field, and what it means
_RATES = (
    ("responses-per-second", "responses", "answers with data, per client network and question"),
    ("nodata-per-second", "nodata", "empty answers (default: the responses rate)"),
    ("nxdomains-per-second", "nxdomains", "NXDOMAIN, per client network and zone (default: "
     "the responses rate)"),
    ("referrals-per-second", "referrals", "referrals (default: the responses rate)"),
    ("errors-per-second", "errors", "REFUSED, FORMERR, SERVFAIL... per client network "
     "(default: the responses rate)"),
    ("all-per-second", "all", "every response to one client network together (default: "
     "no such limit)"),
)  # fmt: skip


def add_rate_limits(parser: Parser) -> None:
    group = parser.add_argument_group(
        "response rate limiting (UDP; off unless a rate is set; docs/operations.md)"
    )
    for flag, _, meaning in _RATES:
        variable = "GTM_RRL_" + flag.upper().replace("-", "_")
        group.add_argument(
            f"--rrl-{flag}", type=int, default=_int(variable), metavar="N",
            help=f"{meaning} (env {variable})",
        )  # fmt: skip
    group.add_argument(
        "--rrl-window", type=int, default=_int("GTM_RRL_WINDOW") or 15, metavar="SECONDS",
        help="how long a client that stops is still limited, at most (env GTM_RRL_WINDOW; "
        "default 15)",
    )  # fmt: skip
    group.add_argument(
        "--rrl-slip", type=int, default=_or(_int("GTM_RRL_SLIP"), 2), metavar="N",
        help="every Nth limited reply is sent truncated (or BADCOOKIE), the others dropped; "
        "0: drop all (env GTM_RRL_SLIP; default 2)",
    )  # fmt: skip
    group.add_argument(
        "--rrl-ipv4-prefix-length", type=int, default=_or(_int("GTM_RRL_IPV4_PREFIX_LENGTH"), 24),
        metavar="BITS", help="client networks for IPv4 (env GTM_RRL_IPV4_PREFIX_LENGTH; 24)",
    )  # fmt: skip
    group.add_argument(
        "--rrl-ipv6-prefix-length", type=int, default=_or(_int("GTM_RRL_IPV6_PREFIX_LENGTH"), 56),
        metavar="BITS", help="client networks for IPv6 (env GTM_RRL_IPV6_PREFIX_LENGTH; 56)",
    )  # fmt: skip
    exempt = env("GTM_RRL_EXEMPT_CLIENTS")
    group.add_argument(
        "--rrl-exempt-clients", action="append", metavar="PREFIX[,PREFIX]",
        default=[exempt] if exempt else None,
        help="clients never limited; repeatable (env GTM_RRL_EXEMPT_CLIENTS)",
    )  # fmt: skip
    group.add_argument(
        "--rrl-log-only", action="store_true", default=env("GTM_RRL_LOG_ONLY") in ("1", "yes"),
        help="count and log what would be limited, answer everything (env GTM_RRL_LOG_ONLY=1)",
    )  # fmt: skip


def rate_limits(args: argparse.Namespace) -> RrlSettings | None:
    """The settings the flags ask for, or None when no rate is set."""
    rates = {field: getattr(args, "rrl_" + flag.replace("-", "_")) for flag, field, _ in _RATES}
    if not any(rates.values()):
        return None
    exempt = []
    for text in args.rrl_exempt_clients or []:
        for word in text.replace(",", " ").split():
            try:
                exempt.append(parse_network(word))
            except ValueError as exc:
                raise UsageError(f"--rrl-exempt-clients: {exc}") from None
    try:
        return RrlSettings(
            responses=rates["responses"] or 0, nodata=rates["nodata"],
            nxdomains=rates["nxdomains"], referrals=rates["referrals"], errors=rates["errors"],
            all=rates["all"] or 0, window=args.rrl_window, slip=args.rrl_slip,
            ipv4_prefix=args.rrl_ipv4_prefix_length, ipv6_prefix=args.rrl_ipv6_prefix_length,
            exempt=tuple(exempt), log_only=args.rrl_log_only,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(f"rate limiting: {exc}") from None


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _int(variable: str) -> int | None:
    text = env(variable)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{variable} must be a whole number, not {text!r}") from None
