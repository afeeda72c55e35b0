"""apxl.core stays pure: no workbook libraries, no Excel bridge, no CLI, no clock."""
import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "src" / "apxl" / "core"
FORBIDDEN = {"openpyxl", "xlwings", "python_calamine", "typer", "rich", "apxl.io", "apxl.excel", "apxl.cli", "os", "pathlib", "subprocess"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_nothing_outside_its_layer():
    bad = {}
    for path in CORE.rglob("*.py"):
        hits = {n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
        if hits:
            bad[str(path.relative_to(CORE))] = sorted(hits)
    assert bad == {}


def test_core_never_reads_the_clock():
    offenders = [str(p.relative_to(CORE)) for p in CORE.rglob("*.py") if any(s in p.read_text() for s in ("date.today(", "datetime.now(", "Timestamp.now(", "Timestamp.today(", "os.environ"))]
    assert offenders == []
