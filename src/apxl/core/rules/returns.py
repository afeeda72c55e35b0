"""RET rules: what ingesting a school's return found about its rows; the findings are raised by apxl.io.returns."""
from apxl.core.rules.registry import declare

# Schools must keep a full record of the placements they make (seed 003_57d480e12197286d.txt §6.1d)
# and the LA keeps one register of every child in AP (§11.5; seed 002_f01ccf5f4a336bf1.txt action 1).
_SRC = "seed 003_57d480e12197286d.txt §6.1d, §11.5; seed 002_f01ccf5f4a336bf1.txt action 1"

declare("RET-001", "School return: Placement ID left blank, so a provisional ID was given", "info", _SRC)
declare("RET-002", "School return: provider given by name, matched to the LA directory's Provider ID", "info", _SRC)
declare("RET-003", "School return: a row's home school is not the school that sent the return", "warning", _SRC)
declare("RET-004", "School return: the same placement appears twice in one return", "warning", _SRC)
declare("RET-005", "School return: a returned value differs from the LA register", "warning", _SRC)
declare("RET-006", "School return: a register placement running this month is missing from the school's return", "warning", _SRC)
