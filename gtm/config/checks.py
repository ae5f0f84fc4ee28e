"""`checks:` templates and inline `check:` mappings → `gtm.model.Check`."""

from __future__ import annotations

from gtm.config import reader
from gtm.config.duration import format_seconds
from gtm.config.loader import Map, Node
from gtm.config.reader import Reasons, join
from gtm.model.codes import CheckType
from gtm.model.zone import Check

DEFAULT_PORTS = {CheckType.HTTP: 80, CheckType.HTTPS: 443}
MIN_INTERVAL = 0.1
DEFAULT_INTERVAL = 5.0
DEFAULT_TIMEOUT = 2.0
HTTP_ONLY = ("path", "host", "expect_status", "expect_body")
KEYS = (
    "type",
    "port",
    *HTTP_ONLY,
    "interval",
    "timeout",
    "rise",
    "fall",
    "quorum",
    "address",
    "tls_verify",
    "watch",
)


def read_checks(r: Reasons, node: Node, path: str) -> dict[str, Check | None]:
    """The `checks:` section: template name → Check (None when the template is invalid)."""
    section = reader.table(r, node, path)
    if section is None:
        return {}
    return {
        name: read_check(r, value, join(path, name), name=name)
        for name, value in section.items.items()
    }


def read_check(r: Reasons, node: Node, path: str, *, name: str | None = None) -> Check | None:
    """One check mapping; `name` is the template's name (None for an inline check)."""
    mark = len(r.items)
    body = reader.mapping(r, node, path, required=("type",), optional=KEYS[1:], what="a check")
    if body is None or "type" not in body.items:
        return None
    fields = body.items
    chosen = reader.choice(r, fields["type"], join(path, "type"), [t.value for t in CheckType])
    kind = CheckType(chosen) if chosen is not None else None
    _check_applies(r, body, path, kind)

    port = DEFAULT_PORTS.get(kind) if kind is not None else None
    if "port" in fields:
        port = reader.integer(r, fields["port"], join(path, "port"), 1, 65535)
    elif kind is CheckType.TCP:
        r.add(body, path, "missing required key 'port' (a tcp check has no default port)")

    check_path = "/"
    if "path" in fields:
        value = reader.text(r, fields["path"], join(path, "path"))
        if value is not None and not value.startswith("/"):
            r.add(fields["path"], join(path, "path"), f"must start with '/', not '{value}'")
        check_path = value or check_path

    host = None
    if "host" in fields:
        host = reader.text(r, fields["host"], join(path, "host"))
        if host is not None and any(c.isspace() or c == "/" for c in host):
            r.add(fields["host"], join(path, "host"), f"invalid host '{host}'")

    expect_status = None
    if "expect_status" in fields:
        expect_status = _statuses(r, fields["expect_status"], join(path, "expect_status"))

    expect_body = None
    if "expect_body" in fields:
        expect_body = reader.text(r, fields["expect_body"], join(path, "expect_body"))

    interval = _interval(r, body, path)
    timeout = _timeout(r, body, path, interval)
    rise = _count(r, body, path, "rise", 2)
    fall = _count(r, body, path, "fall", 3)

    quorum: float | None = 0.5
    if "quorum" in fields:
        quorum = reader.number(r, fields["quorum"], join(path, "quorum"))
        if quorum is not None and not 0 < quorum <= 1:
            r.add(fields["quorum"], join(path, "quorum"), "must be more than 0 and at most 1")

    address = None
    if "address" in fields:
        address = reader.ip_address(r, fields["address"], join(path, "address"))

    tls_verify: bool | None = True
    if "tls_verify" in fields:
        tls_verify = reader.boolean(r, fields["tls_verify"], join(path, "tls_verify"))

    watch: bool | None = True
    if "watch" in fields:
        watch = reader.boolean(r, fields["watch"], join(path, "watch"))

    if len(r.items) > mark or kind is None or port is None or rise is None or fall is None:
        return None
    if quorum is None or tls_verify is None or watch is None:
        return None
    return Check(
        type=kind,
        port=port,
        path=check_path,
        host=host,
        expect_status=expect_status,
        expect_body=expect_body,
        interval=interval,
        timeout=timeout,
        rise=rise,
        fall=fall,
        quorum=quorum,
        address=address,
        tls_verify=tls_verify,
        watch=watch,
        name=name,
    )


def _check_applies(r: Reasons, body: Map, path: str, kind: CheckType | None) -> None:
    """Keys that only some check types take."""
    if kind is None:
        return
    if kind is not CheckType.HTTPS and "tls_verify" in body.items:
        r.add(body.key_lines["tls_verify"], join(path, "tls_verify"), "only for https checks")
    if kind is CheckType.TCP:
        for key in HTTP_ONLY:
            if key in body.items:
                r.add(body.key_lines[key], join(path, key), "only for http and https checks")


def _interval(r: Reasons, body: Map, path: str) -> float:
    if "interval" not in body.items:
        return DEFAULT_INTERVAL
    node = body.items["interval"]
    interval = reader.duration(r, node, join(path, "interval"))
    if interval is None:
        return DEFAULT_INTERVAL
    if interval < MIN_INTERVAL:
        r.add(node, join(path, "interval"), "must be at least 100ms")
    return interval


def _timeout(r: Reasons, body: Map, path: str, interval: float) -> float:
    """The timeout: by default 2s, or the interval when that is shorter."""
    default = min(DEFAULT_TIMEOUT, interval)
    if "timeout" not in body.items:
        return default
    node = body.items["timeout"]
    timeout = reader.duration(r, node, join(path, "timeout"))
    if timeout is None:
        return default
    if timeout <= 0:
        r.add(node, join(path, "timeout"), "must be more than 0")
    elif timeout > interval:
        shown = format_seconds(interval)
        r.add(node, join(path, "timeout"), f"must not exceed the interval ({shown})")
    return timeout


def _count(r: Reasons, body: Map, path: str, key: str, default: int) -> int | None:
    if key not in body.items:
        return default
    return reader.integer(r, body.items[key], join(path, key), 1)


def _statuses(r: Reasons, node: Node, path: str) -> tuple[int, ...] | None:
    def status(r: Reasons, item: Node, item_path: str) -> int | None:
        return reader.integer(r, item, item_path, 100, 599)

    return reader.unique(r, node, path, status, "status", allow_scalar=True) or None
