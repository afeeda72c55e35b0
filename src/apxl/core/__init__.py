"""Pure domain logic: tables, pupils, calendar, policy, rules, summaries. No files, no clock, no environment."""
