"""What CI reads from the project instead of repeating it.

    python .ci/facts.py commands   the README's two commands (under "## Two commands"), one a line
    python .ci/facts.py oldest     pip constraints pinning every lower bound in pyproject.toml
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The fenced bash commands of the README's "Two commands" section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Two commands\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)
    if len(commands) != 2:
        raise SystemExit(f"README.md: expected 2 commands under '## Two commands', found {len(commands)}")
    return commands


def lower_bounds() -> list[str]:
    """``name==version`` for every ``name>=version`` requirement, extras included."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    bounds = [re.fullmatch(r"([A-Za-z0-9_.-]+)>=([^,;]+)", r) for r in [*project["dependencies"], *extras]]
    return [f"{m[1]}=={m[2]}" for m in bounds if m]


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    lines = {"commands": readme_commands, "oldest": lower_bounds}.get(what)
    if lines is None:
        raise SystemExit(__doc__)
    print("\n".join(lines()))
