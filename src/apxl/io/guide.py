"""The words of the register template's Instructions sheet: what each sheet holds and what to enter in each column."""
from __future__ import annotations

# One line per sheet, shown above the column guide. Written for LA finance and AP officers.
SHEET_NOTES: dict[str, str] = {
    "placements": "One row per placement of a pupil in alternative provision, including school-commissioned and unregistered placements (seed 003 11.5).",
    "providers": "The LA's directory of AP providers: registration, Ofsted, quality assurance and safeguarding checks, places and fees.",
    "attendance": "One row per pupil per session (AM/PM) as recorded by the home school or by the provider. Only codes actually recorded: never pre-fill future sessions.",
    "terms": "Calendar sheet, Terms table: the LA's term and half-term dates. School days are counted from these, less the Closures and England bank holidays.",
    "closures": "Calendar sheet, Closures table: INSET days and other whole-school closure days.",
    "rules": "The LA's route matrix: for each route, who may commission, who pays the place (lump sum) and the top-up, and the registration. Write cells as the LA's strategy does (e.g. 'LA/School', 'Dual, school main'). Leave empty to use the profile named on the Settings sheet.",
    "settings": "LA name, the policy profile (herefordshire, solihull, ...) and the date the register is checked as of. Threshold overrides may be added as extra rows.",
}

# What to enter in each column, by table and field. A test checks every contract column has a note.
COLUMN_NOTES: dict[str, dict[str, str]] = {
    "placements": {
        "placement_id": "Your reference for the placement; unique on this sheet.",
        "upn": "The pupil's 13-character unique pupil number (check letter first).",
        "surname": "Pupil's legal surname.",
        "forename": "Pupil's legal forename.",
        "date_of_birth": "dd/mm/yyyy.",
        "year_group": "National curriculum year (R, 1 ... 11); may differ from age if taught out of year.",
        "ehcp": "Y if the pupil has an education, health and care plan.",
        "looked_after": "Y if the pupil is looked after (in care).",
        "home_school_urn": "URN of the school where the pupil is on roll (blank if none).",
        "home_school_name": "Name of that school.",
        "provider_id": "The provider's ID from the Providers sheet (pick from the list).",
        "route": "Why the pupil is in AP: PEX, HEALTH, INTERIM, ASSESS, LONGTERM, SUSPENSION, S19OTHER or VOCATIONAL.",
        "commissioner": "Who arranged the placement: LA or School.",
        "place_funder": "Who pays the place (lump sum) element: LA or School.",
        "topup_funder": "Who pays the top-up: LA or School.",
        "registration": "Dual (on roll at home school and AP school), Single (on roll at the AP only) or Off-site (home school roll only; usual at unregistered providers).",
        "start_date": "First day of the placement.",
        "planned_end_date": "When the placement is planned to end.",
        "end_date": "Actual end date; blank while the placement is open.",
        "exclusion_start_date": "First day of the permanent exclusion or suspension (PEX and SUSPENSION routes).",
        "hours_per_week": "Hours of education a week at this provider.",
        "days": "Days attended, e.g. Mon,Wed or Mon-Fri.",
        "cost_basis": "How the provider charges: Place, Week, Day or Hour.",
        "rate": "The charge per place, week, day or hour, in pounds.",
        "objectives": "What the placement is for (outcomes sought).",
        "review_date": "Next review of the placement.",
        "reintegration_plan": "Y when a reintegration or next-step plan is recorded.",
        "send_officer_consulted": "Y when the SEND officer was consulted (EHCP pupils).",
        "virtual_school_consulted": "Y when the virtual school was consulted (looked-after pupils).",
        "destination": "Where the pupil went when the placement ended.",
    },
    "providers": {
        "provider_id": "Your reference for the provider; unique on this sheet.",
        "name": "Provider name.",
        "type": "PRU, AP academy, AP free school, Independent school, Special school, FE college, Hospital school, Unregistered or Online/tuition.",
        "registered": "Y if registered as a school with the DfE (Ofsted inspected as a school).",
        "urn": "DfE unique reference number (registered providers).",
        "ofsted_judgement": "Latest Ofsted judgement.",
        "ofsted_date": "Date of that inspection.",
        "qa_status": "The LA's quality assurance outcome: Approved, Pending or Not approved.",
        "last_qa_visit": "Date of the last QA visit (annual).",
        "dbs_confirmed": "Y when the provider has confirmed DBS checks for its staff.",
        "safeguarding_confirmation_date": "Date of the provider's written safeguarding confirmation.",
        "places": "Number of places commissioned or available.",
        "key_stages": "Key stages taught, e.g. KS3,KS4.",
        "weekly_fee": "Standard weekly fee, in pounds.",
        "hourly_fee": "Standard hourly fee, in pounds.",
    },
    "attendance": {
        "upn": "The pupil's UPN, as on the Placements sheet.",
        "date": "Date of the session.",
        "session": "AM or PM.",
        "code": "The national attendance code recorded (/ \\ L B D K E I N O U ...).",
        "source": "Who recorded it: School (home school register) or Provider.",
    },
    "terms": {
        "academic_year": "e.g. 2024-25.",
        "term": "Autumn, Spring or Summer.",
        "start": "First day of term.",
        "end": "Last day of term.",
        "half_term_start": "First day of the half-term holiday.",
        "half_term_end": "Last day of the half-term holiday.",
    },
    "closures": {
        "date": "A day the schools are closed (INSET or other closure).",
        "reason": "Why, e.g. INSET.",
    },
    "rules": {
        "route": "Route code.",
        "commissioner": "Who may commission, e.g. LA, School or LA/School.",
        "place_funder": "Who pays the place (lump sum) element.",
        "topup_funder": "Who pays the top-up.",
        "registration": "e.g. 'Dual, school main', 'Single', 'Dual initially then single', 'Dual or single'.",
    },
    "settings": {
        "name": "Setting name: LA name, Profile, As of date, or a threshold to override.",
        "value": "Its value.",
    },
}

INTRO = [
    "apxl AP register",
    "This workbook is the local authority's register of every child in alternative provision (AP). "
    "apxl checks it against the law, DfE guidance and the LA's own route matrix: who commissions and funds each "
    "placement, registration, Section 19 timeliness, provider quality assurance and attendance codes.",
    "How to use it: fill in Providers first, then Placements (pick Provider ID, Route, funders and Registration from "
    "the drop-down lists), the Calendar's term dates and closures, and Attendance if you hold session codes. "
    "Set Profile and As of date on the Settings sheet.",
    "Checking: run 'apxl validate this-workbook.xlsx -o checked.xlsx' (or the Validate button in Excel). "
    "Findings are written to a new copy with a Findings sheet and highlighted cells; this file is not changed.",
    "Keep each sheet's table and its header row: headers may be reworded slightly or moved below a title, and extra "
    "columns are kept and ignored. Dates may be typed as dd/mm/yyyy. Y/N columns accept Y, N, Yes, No, TRUE or FALSE.",
    "This workbook holds personal data about children: store and share it under the LA's data protection policy.",
]
