"""`policies:` → `gtm.model.Policy` trees, with every target name resolved to its object.

A target is a pool name, the name of another policy (its routing tree is shared, not copied) or
an inline mapping with exactly one kind key. Policies are built on demand and memoized, so a
policy referenced twice is one object, and a reference back to a policy being built is a loop.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from gtm.config import names, reader
from gtm.config.geolocation import read_geolocation
from gtm.config.loader import Map, Node, Scalar
from gtm.config.reader import MAX_TTL, Reasons, join
from gtm.model.codes import WhenAllDown
from gtm.model.zone import (
    Failover,
    Geoproximity,
    Latency,
    Policy,
    PolicyKind,
    Pool,
    ProximityTarget,
    Target,
    Weighted,
    WeightedTarget,
)

KINDS = ("failover", "weighted", "geolocation", "geoproximity", "latency")
OPTIONS = ("ttl", "answers", "when_all_down")
DEFAULT_TTL = 60
_NEEDS_ONE = "needs exactly one of " + ", ".join(KINDS)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Declared:
    """A policy as written: its key, absolute owner (None if invalid), line and body."""

    key: str
    name: str | None
    line: int
    path: str
    body: Node


def read_policies(
    r: Reasons, node: Node, path: str, origin: str, pools: Mapping[str, Pool | None]
) -> tuple[dict[str, Policy], dict[str, Declared]]:
    """The `policies:` section: absolute owner → Policy, and every declared policy by key."""
    section = reader.table(r, node, path)
    if section is None:
        return {}, {}
    declared: dict[str, Declared] = {}
    by_name: dict[str, Declared] = {}
    for key, body in section.items.items():
        line = section.key_lines[key]
        policy_path = join(path, key)
        name: str | None = None
        try:
            name = names.owner(key, origin)
        except names.BadName as exc:
            r.add(line, policy_path, str(exc))
        if name is not None and name in by_name:
            first = by_name[name]
            r.add(
                line, policy_path, f"'{key}' is the same name as '{first.key}' (line {first.line})"
            )
            name = None
        declared[key] = Declared(key, name, line, policy_path, body)
        if name is not None:
            by_name[name] = declared[key]

    builder = _Builder(r, pools, declared)
    policies: dict[str, Policy] = {}
    for decl in declared.values():
        policy = builder.policy(decl)
        if policy is not None and decl.name is not None:
            policies[decl.name] = policy
    return policies, declared


class _Builder:
    def __init__(
        self, r: Reasons, pools: Mapping[str, Pool | None], declared: Mapping[str, Declared]
    ) -> None:
        self.r = r
        self.pools = pools
        self.declared = declared
        self.roots: dict[str, PolicyKind | None] = {}  # key -> built routing tree
        self.stack: list[str] = []  # keys being built, outermost first

    # -- policies ---------------------------------------------------------------------------

    def policy(self, decl: Declared) -> Policy | None:
        mark = len(self.r.items)
        body = reader.mapping(
            self.r, decl.body, decl.path, optional=(*KINDS, *OPTIONS), what="a policy"
        )
        root = self.root(decl.key)
        if body is None:
            return None
        fields = body.items
        ttl = self._option_int(body, decl.path, "ttl", DEFAULT_TTL, 0, MAX_TTL)
        answers = self._option_int(body, decl.path, "answers", None, 1, None)
        when: str | None = WhenAllDown.OPEN.value
        if "when_all_down" in fields:
            choices = [w.value for w in WhenAllDown]
            path = join(decl.path, "when_all_down")
            when = reader.choice(self.r, fields["when_all_down"], path, choices)
        if len(self.r.items) > mark or root is None or decl.name is None:
            return None
        if ttl is None or when is None:
            return None
        return Policy(decl.name, root, ttl, answers, WhenAllDown(when), decl.key)

    def _option_int(
        self, body: Map, path: str, key: str, default: int | None, low: int, high: int | None
    ) -> int | None:
        if key not in body.items:
            return default
        return reader.integer(self.r, body.items[key], join(path, key), low, high)

    def root(self, key: str) -> PolicyKind | None:
        """The routing tree of the policy declared as `key`, built once."""
        if key not in self.roots:
            decl = self.declared[key]
            self.stack.append(key)
            self.roots[key] = None
            try:
                if isinstance(decl.body, Map):
                    self.roots[key] = self.kind_of(decl.body, decl.path, inline=False)
            finally:
                self.stack.pop()
        return self.roots[key]

    # -- kinds ------------------------------------------------------------------------------

    def kind_of(self, body: Map, path: str, *, inline: bool) -> PolicyKind | None:
        """The one kind key of a policy or inline target mapping."""
        kinds = [key for key in body.items if key in KINDS]
        if not kinds:
            what = "an inline policy" if inline else "policy"
            self.r.add(body, path, f"{what} {_NEEDS_ONE}")
            return None
        if len(kinds) > 1:
            self.r.add(body, path, f"has both '{kinds[0]}' and '{kinds[1]}'")
            return None
        kind = kinds[0]
        node, kind_path = body.items[kind], join(path, kind)
        mark = len(self.r.items)
        result: PolicyKind | None
        if kind == "failover":
            result = self.failover(node, kind_path)
        elif kind == "weighted":
            result = self.weighted(node, kind_path)
        elif kind == "geolocation":
            result = read_geolocation(self.r, node, kind_path, self.target)
        elif kind == "geoproximity":
            result = self.geoproximity(node, kind_path)
        else:
            result = self.latency(node, kind_path)
        return result if len(self.r.items) == mark else None

    def failover(self, node: Node, path: str) -> Failover | None:
        targets: list[Target | None] = []
        seen: set[str] = set()
        for item_path, item in reader.each(self.r, node, path):
            self._once(item, item_path, seen)
            targets.append(self.target(item, item_path))
        complete: tuple[Target, ...] | None = _complete(targets)
        return Failover(complete) if complete else None

    def weighted(self, node: Node, path: str) -> Weighted | None:
        entries: list[tuple[Target | None, int | None]] = []
        if isinstance(node, Map):
            if not node.items:
                self.r.add(node, path, "must not be empty")
            for name, weight_node in node.items.items():
                line = node.key_lines[name]
                target = self.named(name, line, join(path, name))
                weight = self._weight(weight_node, join(path, name))
                entries.append((target, weight))
        else:
            seen: set[str] = set()
            for item_path, item in reader.each(self.r, node, path):
                body = reader.mapping(
                    self.r, item, item_path, required=("to", "weight"), what="a weighted target"
                )
                if body is None or "to" not in body.items or "weight" not in body.items:
                    continue
                self._once(body.items["to"], join(item_path, "to"), seen)
                target = self.target(body.items["to"], join(item_path, "to"))
                weight_path = join(item_path, "weight")
                weight = self._weight(body.items["weight"], weight_path)
                entries.append((target, weight))
        weights = [w for _, w in entries if w is not None]
        if entries and len(weights) == len(entries) and not any(weights):
            self.r.add(node, path, "needs at least one positive weight")
        targets: list[WeightedTarget | None] = [
            WeightedTarget(t, w) if t is not None and w is not None else None for t, w in entries
        ]
        complete = _complete(targets)
        return Weighted(complete) if complete else None

    def _weight(self, node: Node, path: str) -> int | None:
        weight = reader.integer(self.r, node, path)
        if weight is not None and weight < 0:
            self.r.add(node, path, "must not be negative")
            return None
        return weight

    def geoproximity(self, node: Node, path: str) -> Geoproximity | None:
        section = reader.table(self.r, node, path)
        if section is None:
            if isinstance(node, Scalar) and node.value is None:
                self.r.add(node, path, "must not be empty")
            return None
        if not section.items:
            self.r.add(node, path, "must not be empty")
        targets: list[ProximityTarget | None] = []
        for name, value in section.items.items():
            pool_path = join(path, name)
            pool = self.pool(name, section.key_lines[name], pool_path, "geoproximity")
            bias: int | None = 0
            if not (isinstance(value, Scalar) and value.value is None):
                body = reader.mapping(
                    self.r, value, pool_path, optional=("bias",), what="a geoproximity pool"
                )
                if body is not None and "bias" in body.items:
                    bias_path = join(pool_path, "bias")
                    bias = reader.integer(self.r, body.items["bias"], bias_path, -99, 99)
            if pool is not None and bias is not None:
                targets.append(ProximityTarget(pool, bias))
            else:
                targets.append(None)
        complete = _complete(targets)
        return Geoproximity(complete) if complete else None

    def latency(self, node: Node, path: str) -> Latency | None:
        pools: list[Pool | None] = []
        seen: set[str] = set()
        for item_path, item in reader.each(self.r, node, path):
            self._once(item, item_path, seen)
            name = reader.text(self.r, item, item_path)
            pools.append(self.pool(name, item.line, item_path, "latency") if name else None)
        complete = _complete(pools)
        return Latency(complete) if complete else None

    # -- targets ----------------------------------------------------------------------------

    def target(self, node: Node, path: str) -> Target | None:
        """A pool name, a policy name or an inline policy mapping."""
        if isinstance(node, Map):
            extra = [key for key in node.items if key not in KINDS]
            for key in extra:
                self.r.add(
                    node.key_lines[key],
                    reader.join(path, key),
                    f"unknown key '{key}' in an inline policy (it has exactly one of "
                    f"{', '.join(KINDS)}){reader.suggest(key, KINDS)}",
                )
            kind = self.kind_of(node, path, inline=True)
            return None if extra else kind
        if isinstance(node, Scalar) and isinstance(node.value, str) and node.value:
            return self.named(node.value, node.line, path)
        self.r.add(
            node,
            path,
            f"must be a pool name, a policy name or an inline policy, not {reader.describe(node)}",
        )
        return None

    def named(self, name: str, line: int, path: str) -> Target | None:
        """The pool or policy called `name`."""
        if name in self.pools and name in self.declared:
            self.r.add(line, path, f"'{name}' is ambiguous: it names both a pool and a policy")
            return None
        if name in self.pools:
            return self.pools[name]
        if name in self.declared:
            if name in self.stack:
                cycle = [*self.stack[self.stack.index(name) :], name]
                self.r.add(line, path, "policy loop: " + " -> ".join(cycle))
                return None
            return self.root(name)
        self.r.add(line, path, self._unknown(name))
        return None

    def pool(self, name: str, line: int, path: str, kind: str) -> Pool | None:
        """A pool named by a geoproximity or latency policy: it needs a location."""
        if name not in self.pools:
            if name in self.declared:
                self.r.add(line, path, f"{kind} chooses among pools: '{name}' is a policy")
            else:
                self.r.add(line, path, f"unknown pool '{name}'{reader.suggest(name, self.pools)}")
            return None
        pool = self.pools[name]
        if pool is not None and pool.location is None:
            self.r.add(line, path, f"pool '{name}' needs a location for {kind}")
            return None
        return pool

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, sorted({*self.pools, *self.declared}), n=1)
        if not close:
            return f"unknown pool or policy '{name}'"
        what = "pool" if close[0] in self.pools else "policy"
        return f"unknown {what} '{name}' (did you mean '{close[0]}'?)"

    def _once(self, node: Node, path: str, seen: set[str]) -> None:
        """Report a target name listed twice in one kind."""
        if isinstance(node, Scalar) and isinstance(node.value, str):
            if node.value in seen:
                self.r.add(node, path, f"'{node.value}' is listed twice")
            seen.add(node.value)


def _complete(items: list[_T | None]) -> tuple[_T, ...] | None:
    """The items as a tuple when every one is there (and there is at least one)."""
    present = tuple(item for item in items if item is not None)
    return present if present and len(present) == len(items) else None
