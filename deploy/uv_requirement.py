"""Print uv's locked release as a pip requirement with the hashes of its wheels, read from
uv.lock, so that uv can be installed with `pip install --require-hashes` before it exists:
    python3 deploy/uv_requirement.py [uv.lock] > uv.txt
(deploy/setup.sh and deploy/Dockerfile). Standard library only: it runs on a bare python3."""

import sys
import tomllib

with open(sys.argv[1] if len(sys.argv) > 1 else "uv.lock", "rb") as lock:
    (uv,) = [package for package in tomllib.load(lock)["package"] if package["name"] == "uv"]
hashes = " ".join(f"--hash={wheel['hash']}" for wheel in uv["wheels"])
print(f"uv=={uv['version']} {hashes}")
