"""The exported contracts: rule catalogue and register schema (schemas/*.json) and the README rule table.

Regenerate after adding a rule or column: ``uv run python -m apxl.contract``; a test keeps them in sync.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from apxl.core.rules import catalogue
from apxl.core.tables import SHEETS, columns

README_START, README_END = "<!-- rule-table:start -->", "<!-- rule-table:end -->"


def rule_catalogue() -> list[dict]:
    return [{"id": r.id, "area": r.area, "severity": r.severity.value, "title": r.title, "source": r.source} for r in catalogue()]


def register_schema() -> dict:
    sheets = {}
    for name, spec in SHEETS.items():
        sheets[name] = {
            "sheet": spec.sheet,
            "sheet_aliases": list(spec.sheet_aliases),
            "key": list(spec.key),
            "columns": [
                {
                    "field": c.field,
                    "header": c.header,
                    "aliases": list(c.aliases),
                    "kind": c.kind,
                    "allowed": list(c.allowed) if c.allowed else None,
                    "required_value": c.required,
                    "required_column": c.required_column,
                    "unique": c.unique,
                }
                for c in columns(spec.model)
            ],
        }
    return {"title": "apxl register workbook contract", "sheets": sheets}


def rule_table_markdown() -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| Rule | Severity | Checks | Source |", "|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['severity']} | {cell(r['title'])} | {cell(r['source'])} |" for r in rule_catalogue()]
    return "\n".join(lines)


def _dump(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file under ``root`` (the repository) with the text it should hold."""
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = f"{README_START}\n{rule_table_markdown()}\n{README_END}"
    if README_START in text:
        text = re.sub(re.escape(README_START) + r".*?" + re.escape(README_END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Rules\n\n" + block + "\n"
    return {
        root / "schemas" / "rules.json": _dump(rule_catalogue()),
        root / "schemas" / "register_schema.json": _dump(register_schema()),
        readme: text,
    }


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    for path, text in expected_files(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
