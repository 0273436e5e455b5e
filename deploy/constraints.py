"""Airflow's constraints file, narrowed to what our own requirements allow.

The image installs ZMOT Monitor with Airflow's tested pins for every package they share, so the
project cannot upgrade or downgrade what Airflow runs on. Where a pin of Airflow's is outside
what pyproject.toml asks for (duckdb, spaCy's stack), our requirement decides and that pin is
dropped; the build prints each one it dropped.

    python deploy/constraints.py airflow-constraints.txt pyproject.toml > constraints.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def narrowed(constraints: str, requirements: list[str]) -> tuple[list[str], list[str]]:
    """The constraint lines to keep, and the ones our requirements overrule."""
    ours = {}
    for text in requirements:
        requirement = Requirement(text)
        ours[canonicalize_name(requirement.name)] = requirement
    kept, dropped = [], []
    for line in constraints.splitlines():
        name, sep, version = line.strip().partition("==")
        if not sep or line.lstrip().startswith("#"):
            continue
        requirement = ours.get(canonicalize_name(name))
        if requirement is not None and not requirement.specifier.contains(Version(version), prereleases=True):
            dropped.append(f"{line.strip()} (we need {requirement})")
        else:
            kept.append(line.strip())
    return kept, dropped


def main(argv: list[str]) -> int:
    constraints_file, pyproject = (Path(a) for a in argv)
    requirements = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    kept, dropped = narrowed(constraints_file.read_text(encoding="utf-8"), requirements)
    for line in dropped:
        print(f"constraint dropped: {line}", file=sys.stderr)
    print("\n".join(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
