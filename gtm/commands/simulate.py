"""`gtm simulate --fail POOL[,POOL]`: what-if: the DNS answers and anycast catchments that move
if those pools failed (gtm.anycast.simulate). Touches nothing live."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from gtm.commands.options import Subparsers, add_json, add_zones


def add_parser(commands: Subparsers) -> None:
    simulate = commands.add_parser(
        "simulate", help="what-if: how DNS answers and anycast catchments move if pools fail"
    )
    add_zones(simulate)
    simulate.add_argument(
        "--fail", required=True, metavar="POOL[,POOL...]",
        help="the pools to fail (comma separated)",
    )  # fmt: skip
    add_json(simulate)
    simulate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gtm.anycast.places import PLACES
    from gtm.anycast.simulate import simulate, unknown_pools
    from gtm.config.directory import ZoneDirectory

    result = ZoneDirectory(args.zones).reload()
    for reason in result.errors:
        print(f"gtm simulate: {reason}", file=sys.stderr)
    if not result.zones:
        print(f"gtm simulate: no valid zone in {args.zones}", file=sys.stderr)
        return 1
    failed = [name.strip() for name in args.fail.split(",") if name.strip()]
    unknown = unknown_pools(result.zones, failed)
    if not failed or unknown:
        print(f"gtm simulate: unknown pool {', '.join(unknown) or '(none given)'}",
              file=sys.stderr)  # fmt: skip
        return 2
    report = simulate(result.zones, failed, PLACES)
    if args.json:
        data = asdict(report)
        for change in data["answers"]:
            place = change["place"]
            change["place"] = f"{place['name']} ({place['country']})"
        print(json.dumps(data, indent=2))
        return 0
    print(f"If {', '.join(report.failed)} failed ({report.places} sample places):\n")
    print("DNS answers that change:")
    if not report.answers:
        print("  none")
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for change in report.answers:  # one line per name, type and change, listing the places
        key = (change.name, change.qtype, change.before, change.after)
        groups.setdefault(key, []).append(f"{change.place.name} ({change.place.country})")
    for (name, qtype, before, after), where in groups.items():
        print(f"  {name} {qtype}: {before}  ->  {after}")
        print(f"      for {len(where)} place(s): {', '.join(where)}")
    print(f"  ({report.unchanged} answers stay the same)\n")
    print("Anycast catchments:")
    if not report.prefixes:
        print("  no pool announces prefixes")
    for prefix in report.prefixes:
        print(f"  {prefix.prefix}")
        for pool in sorted(set(prefix.before) | set(prefix.after)):
            share_before, share_after = prefix.before.get(pool, 0.0), prefix.after.get(pool, 0.0)
            print(f"    {pool}: {share_before:.0%} -> {share_after:.0%}")
        if prefix.kept:
            print(f"    kept announced by {', '.join(prefix.kept)}: the last PoPs of the "
                  "prefix are never withdrawn (anycast.withdraw_last: false)")  # fmt: skip
        moved: dict[tuple[str | None, str | None], list[str]] = {}
        for place, was, now in prefix.moves:
            moved.setdefault((was, now), []).append(place)
        for (was, now), where in moved.items():
            print(f"    {was or 'unreachable'} -> {now or 'unreachable'}: {', '.join(where)}")
    return 0
