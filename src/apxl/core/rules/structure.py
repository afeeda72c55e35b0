"""STR rules: the register's structure. Their findings are raised while parsing (apxl.core.parse)."""
from apxl.core.rules.registry import declare

_SRC = "DESIGN.md section 2 (the workbook contract)"

declare("STR-001", "Missing sheet or table", "error", _SRC)
declare("STR-002", "Missing required column", "error", _SRC)
declare("STR-003", "Value cannot be read (not a date, number, Y/N, year group or weekday list)", "error", _SRC)
declare("STR-004", "Value not in the allowed list", "error", _SRC)
declare("STR-005", "Duplicate key", "error", _SRC)
declare("STR-006", "Required value blank", "error", _SRC)

declare("SYS-001", "A rule could not run on this register (a fault in apxl, reported so the other checks still count)", "error", "apxl itself: report it to the apxl team")
