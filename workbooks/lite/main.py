"""apxl in xlwings Lite: paste this whole file into the main.py tab of the xlwings Lite pane.

The functions appear as =APXL.UPN_VALID(...), =APXL.SCHOOL_DAYS(...) and so on; the scripts
(Validate register, Build termly summaries, Import school returns, Clear apxl output) appear in the
pane's list to run. Import school returns reads the folder named 'Returns folder' on the Settings
sheet: in Lite, add the month's returns through the xlwings Lite menu > Files and give its /data/... path.
Everything is apxl's own code from the apxl package named in requirements.txt: nothing to edit here.
"""
from apxl.excel.functions import (  # noqa: F401  (xlwings Lite registers what main.py holds)
    ATTENDANCE,
    CHECK,
    COST,
    DAY6,
    FUNDERS,
    KEY_STAGE,
    SCHOOL_DAYS,
    UPN_VALID,
    YEAR_GROUP,
)
from apxl.excel.scripts import build_termly_summaries, clear_apxl_output, import_school_returns, validate_register  # noqa: F401
