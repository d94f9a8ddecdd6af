"""Build hook: wheels and sdists carry the built dashboard (frontend/ -> videoinsights/web/pages/static/dist/).

Everything else about the package is in pyproject.toml. Building from a checkout runs the npm build
when the bundle is missing or older than its sources (node is needed to build, never to install);
an sdist already holds the bundle, so building a wheel from it needs no node. Editable installs
(`./run`) skip the hook: ./run builds the frontend itself.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "frontend"
STAMP = ROOT / "videoinsights" / "web" / "pages" / "static" / "dist" / "build.json"
SOURCES = ("src", "build.mjs", "package.json", "package-lock.json")


def _stale() -> bool:
    if not STAMP.exists():
        return True
    if not FRONTEND.is_dir():
        return False  # an sdist: the bundle it carries is the one to ship
    built = STAMP.stat().st_mtime
    for name in SOURCES:
        path = FRONTEND / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


def build_frontend() -> None:
    if not _stale():
        return
    npm = shutil.which("npm")
    if npm is None or not FRONTEND.is_dir():
        if STAMP.exists():
            print("warning: npm not found; packaging the existing (older) dashboard bundle")
            return
        raise SystemExit("building videoinsights needs node and npm to bundle the dashboard "
                         "(frontend/); install node 20+, or install a built wheel instead")
    print("bundling the dashboard with npm (frontend/ -> videoinsights/web/pages/static/dist/)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FRONTEND, check=True)
    subprocess.run([npm, "run", "--silent", "build"], cwd=FRONTEND, check=True)


class BuildPyWithFrontend(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            build_frontend()
        super().run()


class SdistWithFrontend(sdist):
    def run(self) -> None:
        build_frontend()
        super().run()


setup(cmdclass={"build_py": BuildPyWithFrontend, "sdist": SdistWithFrontend})
