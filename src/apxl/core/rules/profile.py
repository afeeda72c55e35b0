"""POL rules: problems with the LA policy itself (profile, Rules sheet, Settings), found while building the policy."""
from apxl.core.rules.registry import declare

# apxl.io.profiles.policy_for reports these while it combines the profile with the workbook, before any
# rule runs; a broken policy never stops the check: the unreadable part falls back and is reported.
declare(
    "POL-001",
    "policy profile, Rules sheet or Settings value malformed (the unreadable part is ignored or falls back)",
    "error",
    "DESIGN.md section 3: policy is data; the LA's profile and its Rules/Settings sheets",
)
