"""Conventions the code base promises."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_forms_import_nothing_from_the_app():
    for path in (ROOT / "forms").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["."]
            for name in names:
                assert not name.startswith("inspect_app"), f"{path.name} imports {name}"
