"""Does uv.lock still hold what pyproject.toml asks for? A reading of both files, so that a
test can say exactly which requirement and which locked version disagree (uv's own
`uv lock --check` says only that the lock needs updating, and needs the index to say more)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

PROJECT = "gtm"
# A requirement's place in pyproject.toml: "dependencies", "extra dev", "group build".
Place = str
Wanted = tuple[Place, str, str]  # (place, normalized name, specifier)


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def problems(pyproject: dict[str, Any], lock: dict[str, Any]) -> list[str]:
    """Every disagreement between pyproject.toml and uv.lock (both as parsed TOML), one line
    each; an empty list when the lock installs what pyproject.toml asks for."""
    found: list[str] = []
    versions = _locked_versions(lock)
    project = _project_entry(lock)
    wanted = set(_wanted(pyproject))
    recorded = set(_recorded(project))
    for place, name, spec in sorted(wanted - recorded):
        found.append(f"{place}: {name}{spec} is not in uv.lock's record of pyproject.toml")
    for place, name, spec in sorted(recorded - wanted):
        found.append(f"{place}: uv.lock records {name}{spec}, which pyproject.toml lacks")
    for place, name, spec in sorted(wanted):
        if name not in versions:
            found.append(f"{place}: {name}{spec} is not locked")
            continue
        for version in versions[name]:
            if not SpecifierSet(spec).contains(Version(version), prereleases=True):
                found.append(f"{place}: {name}{spec} but uv.lock has {name}=={version}")
    needed = _reachable(lock, project)
    for name in sorted(set(versions) - needed - {PROJECT}):
        found.append(f"uv.lock holds {name}=={', '.join(versions[name])}, which nothing needs")
    found.extend(_unhashed(lock))
    build_system = {_key(Requirement(r)) for r in pyproject["build-system"]["requires"]}
    build_group = {_key(Requirement(r)) for r in pyproject["dependency-groups"].get("build", [])}
    if build_system != build_group:
        found.append(
            f"[build-system] requires {sorted(build_system)} but the build group locks "
            f"{sorted(build_group)}"
        )
    python = pyproject["project"]["requires-python"]
    if SpecifierSet(lock["requires-python"]) != SpecifierSet(python):
        found.append(f"requires-python is {python} but uv.lock is for {lock['requires-python']}")
    return found


def _key(requirement: Requirement) -> tuple[str, str]:
    return normalize(requirement.name), str(requirement.specifier)


def _wanted(pyproject: dict[str, Any]) -> Iterator[Wanted]:
    project = pyproject["project"]
    places: list[tuple[Place, Iterable[str]]] = [("dependencies", project["dependencies"])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        places.append((f"extra {extra}", requirements))
    for group, requirements in pyproject.get("dependency-groups", {}).items():
        places.append((f"group {group}", requirements))
    for place, requirements in places:
        for line in requirements:
            yield (place, *_key(Requirement(line)))


def _recorded(project: dict[str, Any]) -> Iterator[Wanted]:
    """What uv recorded of pyproject.toml when it made the lock (how it knows it is stale)."""
    metadata = project.get("metadata", {})
    for entry in metadata.get("requires-dist", []):
        extra = re.search(r"extra == '([^']+)'", entry.get("marker", ""))
        place = f"extra {extra.group(1)}" if extra else "dependencies"
        yield place, normalize(entry["name"]), str(SpecifierSet(entry.get("specifier", "")))
    for group, entries in metadata.get("requires-dev", {}).items():
        for entry in entries:
            spec = str(SpecifierSet(entry.get("specifier", "")))
            yield f"group {group}", normalize(entry["name"]), spec


def _locked_versions(lock: dict[str, Any]) -> dict[str, list[str]]:
    versions: dict[str, list[str]] = defaultdict(list)
    for package in lock.get("package", []):
        if "version" in package:
            versions[normalize(package["name"])].append(package["version"])
    return dict(versions)


def _project_entry(lock: dict[str, Any]) -> dict[str, Any]:
    for package in lock.get("package", []):
        if normalize(package["name"]) == PROJECT:
            entry: dict[str, Any] = package
            return entry
    return {}


def _reachable(lock: dict[str, Any], project: dict[str, Any]) -> set[str]:
    """Names the project needs, through every extra and group, directly or not."""
    packages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for package in lock.get("package", []):
        packages[normalize(package["name"])].append(package)
    todo: list[dict[str, Any]] = [*project.get("dependencies", [])]
    for entries in project.get("optional-dependencies", {}).values():
        todo.extend(entries)
    for entries in project.get("dev-dependencies", {}).values():
        todo.extend(entries)
    seen: set[tuple[str, str]] = set()  # (name, extra or "")
    while todo:
        dependency = todo.pop()
        name = normalize(dependency["name"])
        for extra in ["", *dependency.get("extra", [])]:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for package in packages.get(name, []):
                if extra:
                    todo.extend(package.get("optional-dependencies", {}).get(extra, []))
                else:
                    todo.extend(package.get("dependencies", []))
    return {name for name, _ in seen}


def _unhashed(lock: dict[str, Any]) -> Iterator[str]:
    for package in lock.get("package", []):
        if normalize(package["name"]) == PROJECT:
            continue  # built from this checkout
        if "registry" not in package.get("source", {}):
            yield f"uv.lock takes {package['name']} from {package.get('source')}, not the index"
            continue
        files = [package.get("sdist", {}), *package.get("wheels", [])]
        files = [f for f in files if f]
        pinned = f"{package['name']}=={package.get('version')}"
        if not files or not all(f.get("hash", "").startswith("sha256:") for f in files):
            yield f"uv.lock has {pinned} without sha256 hashes"
        if not any(_fits_linux(w["url"]) for w in package.get("wheels", [])):
            # Built from source, it would fetch its build dependencies unlocked.
            yield f"uv.lock has no wheel of {pinned} for Linux"


def _fits_linux(url: str) -> bool:
    platform = url.rsplit("/", 1)[-1].removesuffix(".whl").rsplit("-", 1)[-1]
    return platform == "any" or "linux" in platform
