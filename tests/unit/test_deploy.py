"""deploy/ holds what it says: hardened systemd units that systemd accepts, a small non-root
image with a health check that installs exactly uv.lock, a Compose file with Redis, two DNS
nodes and three checkers, and Kubernetes manifests with the probes, ports and zones that
matter. Docker cannot run here, so the image and the Compose file are checked as text and YAML,
and the image's install step is run on a copy of what its COPY lines take."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gtm.config import load_zone_text

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GTM = Path(sys.executable).with_name("gtm")
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "Restart": "on-failure",
}  # fmt: skip


def unit(name: str) -> dict[str, list[str]]:
    """A unit file's settings: key -> values (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize("name", ["gtm.service", "gtm-check@.service"])
def test_units_are_hardened(name: str) -> None:
    settings = unit(name)
    for key, value in HARDENING.items():
        assert settings[key] == [value], key
    assert settings["User"] == ["gtm"]
    assert settings["ExecStart"][0].startswith("/opt/gtm/.venv/bin/gtm ")


def test_the_server_binds_53_without_root_and_reloads_with_sighup() -> None:
    settings = unit("gtm.service")
    assert settings["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["ExecStart"] == ["/opt/gtm/.venv/bin/gtm serve"]


def test_the_checker_is_a_template_named_by_its_instance() -> None:
    settings = unit("gtm-check@.service")
    assert "GTM_CHECKER_NAME=%i" in settings["Environment"][0]
    assert settings["CapabilityBoundingSet"] == [""]
    assert settings["ExecStart"] == ["/opt/gtm/.venv/bin/gtm check"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify`, with ExecStart pointing at this checkout's gtm (it checks that
    the program exists); a warning about any line fails the test too."""
    for name in ("gtm.service", "gtm-check@.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        (tmp_path / name).write_text(text.replace("/opt/gtm/.venv/bin/gtm", str(GTM)))
    done = subprocess.run(
        ["systemd-analyze", "verify", "gtm.service", "gtm-check@eu-1.service"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "gtm" not in done.stderr, done.stderr  # no warning about our units


def test_the_image_is_small_non_root_and_checks_healthz() -> None:
    lines = [ln.strip() for ln in (DEPLOY / "Dockerfile").read_text().splitlines()]
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert froms
    assert all(ln.startswith("FROM python:3.11-slim") for ln in froms)
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users == ["USER gtm"]
    text = (DEPLOY / "Dockerfile").read_text()
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
    assert 'ENTRYPOINT ["gtm"]' in text


def build_stage() -> list[tuple[str, str]]:
    """The image's build stage as (instruction, arguments), continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    steps = [tuple(line.strip().split(maxsplit=1)) for line in text.splitlines()]
    steps = [s for s in steps if s and not s[0].startswith("#")]
    start = steps.index(("FROM", "python:3.11-slim AS build"))
    end = next(i for i, s in enumerate(steps) if i > start and s[0] == "FROM")
    return [(s[0], s[1]) for s in steps[start + 1 : end]]


def test_the_image_installs_uv_and_gtm_from_the_lock_only() -> None:
    runs = [args for op, args in build_stage() if op == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert installs
    assert all("--require-hashes" in r and "uv_requirement.py uv.lock" in r for r in installs)
    (sync,) = [r for r in runs if "uv sync" in r]
    assert "--locked" in shlex.split(sync)


def test_the_build_context_holds_what_the_image_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    copies = [ln.split()[1:-1] for ln in (DEPLOY / "Dockerfile").read_text().splitlines()
              if ln.startswith("COPY ") and "--from=" not in ln]  # fmt: skip
    sources = {s for args in copies for s in args if not s.startswith("--")}
    assert sources == allowed


def test_the_images_install_step_works_on_what_it_copies(tmp_path: Path) -> None:
    """The build stage's COPY lines and its `uv sync`, here: with this checkout's uv (the same
    locked release the image installs) and its cache, offline, into a scratch environment."""
    src = tmp_path / "src"
    env = dict(os.environ)
    sync = ""
    for op, args in build_stage():
        if op == "COPY":
            *sources, dest = args.split()
            for source in sources:
                target = src / dest / Path(source).name if dest.endswith("/") else src / dest
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__py*"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / source, target)
        elif op == "ENV":
            env.update(pair.partition("=")[::2] for pair in shlex.split(args))
        elif op == "RUN" and "uv sync" in args:
            sync = args
    venv = tmp_path / "opt" / "gtm" / ".venv"
    env.pop("UV_NO_CACHE")
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_OFFLINE="1")
    env["PATH"] = f"{ROOT / '.uv' / 'bin'}:{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", sync], cwd=src, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    version = subprocess.run(
        [venv / "bin" / "gtm", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("gtm ")
    assert not (venv / "bin" / "pytest").exists()  # runtime only


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_has_redis_two_dns_nodes_and_three_checkers_in_regions() -> None:
    services = compose()["services"]
    assert services["redis"]["image"].startswith("redis:")
    nodes = [s for s in services.values() if s.get("command") == ["serve"]]
    checkers = [s for s in services.values() if s.get("command") == ["check"]]
    assert len(nodes) == 2
    assert len(checkers) == 3
    names = {c["environment"]["GTM_CHECKER_NAME"] for c in checkers}
    places = {c["environment"]["GTM_LOCATION"] for c in checkers}
    assert len(names) == 3
    assert len(places) == 3
    for service in nodes + checkers:
        assert service["environment"]["GTM_REDIS"] == "redis://redis:6379/0"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    published = {port for node in nodes for port in node["ports"]}
    assert {"5301:5353/udp", "5301:5353/tcp", "5302:5353/udp", "5302:5353/tcp"} <= published


def manifests() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "gtm.yaml").read_text()) if d]


def kind(name: str, what: str) -> dict[str, Any]:
    (found,) = [d for d in manifests() if d["kind"] == what and d["metadata"]["name"] == name]
    return found


def test_dns_pods_have_probes_and_the_zones() -> None:
    deployment = kind("gtm-dns", "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "zones", "configMap": {"name": "gtm-zones"}} in volumes
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GTM_ZONES"] == "/etc/gtm/zones"
    assert env["GTM_REDIS"].startswith("redis://")


def test_the_service_carries_udp_and_tcp_53() -> None:
    service = kind("gtm-dns", "Service")
    ports = {(p["port"], p["protocol"]) for p in service["spec"]["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP")}
    assert service["spec"]["externalTrafficPolicy"] == "Local"


def test_checkers_are_named_by_their_pod() -> None:
    (container,) = kind("gtm-check", "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["check"]
    (name,) = [e for e in container["env"] if e["name"] == "GTM_CHECKER_NAME"]
    assert name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_the_configmaps_zones_are_valid() -> None:
    data = kind("gtm-zones", "ConfigMap")["data"]
    assert data
    for file, text in data.items():
        load_zone_text(text, file)  # raises ConfigError with file, line and path
