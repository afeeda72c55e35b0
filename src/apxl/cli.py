"""The `apxl` command line: thin commands over apxl.io and apxl.core. Results on stdout, progress on stderr."""
from __future__ import annotations

import json
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from apxl.errors import ApxlError

app = typer.Typer(
    name="apxl",
    help="Keep an alternative provision register lawful, safe and correctly funded.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one-sentence errors must not be broken mid-word

EXIT_OK, EXIT_ERRORS, EXIT_CANNOT_RUN = 0, 1, 2


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def parse_as_of(text: Optional[str]) -> Optional[date]:
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"'{text}' is not a date: use YYYY-MM-DD or DD/MM/YYYY.")


def fail(message: str) -> "typer.Exit":
    err.print(f"[bold red]apxl:[/] {message}")
    return typer.Exit(EXIT_CANNOT_RUN)


def print_report(report, fmt: Format, limit: int = 200) -> None:
    """Findings to stdout: a readable table, or JSON/CSV that scripts depend on (DESIGN.md section 4)."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(report.to_json_dict(), indent=2, default=str) + "\n")
        return
    if fmt is Format.csv:
        report.frame.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    counts = report.counts
    if not len(report):
        out.print("[green]No findings.[/]")
        return
    table = RichTable(show_lines=False, header_style="bold")
    for name in ("Rule", "Severity", "Sheet", "Row", "Column", "Key", "Message"):
        table.add_column(name, overflow="fold")
    colour = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in report.findings[:limit]:
        table.add_row(f.rule_id, f"[{colour.get(f.severity, 'white')}]{f.severity}[/]", f.sheet, str(f.row or ""), f.column or "", f.key or "", f.message)
    out.print(table)
    if len(report) > limit:
        out.print(f"... and {len(report) - limit} more findings (use --format csv or -o OUT.xlsx for all).")
    out.print(
        f"[bold]{counts['total']} findings:[/] [red]{counts['error']} errors[/], "
        f"[yellow]{counts['warning']} warnings[/], [cyan]{counts['info']} info[/]"
    )


@app.command()
def validate(
    workbook: Path = typer.Argument(..., help="The register workbook (.xlsx or .xlsm)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Check as of this date (YYYY-MM-DD); overrides the Settings sheet."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="How to print findings: table, json or csv."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write a copy of the workbook with a Findings sheet and highlighted cells."),
    in_place: bool = typer.Option(False, "--in-place", help="Write findings into WORKBOOK itself (a backup is kept beside it)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Policy profile (e.g. herefordshire, solihull, national); overrides Settings."),
    attendance: Optional[Path] = typer.Option(None, "--attendance", help="Check this attendance file (CSV or Parquet: UPN, Date, Session, Code, Source) instead of the workbook's Attendance sheet."),
) -> None:
    """Check a register and report findings.

    Example: [bold]apxl validate register.xlsx --as-of 2025-01-31 -o checked.xlsx[/]
    Example: [bold]apxl validate register.xlsx --attendance sessions.parquet --format csv[/]
    """
    from apxl.io.prefetch import prefetch_tables, warm_up

    pending = prefetch_tables(workbook)  # the tables load on a second core while pandas and the rules import
    from apxl.io.profiles import check_with_policy
    from apxl.io.reader import read_register

    if pending:
        warm_up(writing=bool(output or in_place))

    try:
        when = parse_as_of(as_of)
        with err.status("Reading the register..."):
            # The attendance is read when the checks first need it: every other check runs while it loads.
            register = read_register(workbook, pending, defer_attendance=True)
        if attendance is not None:
            from apxl.io.attendance import use_attendance_file

            with err.status("Reading the attendance file..."):
                use_attendance_file(register, attendance)
        preloaded = None
        if output or in_place:
            from apxl.io.opc import PartPreload

            # Big sheets inflate on another core while the attendance checks run (once that core has loaded the tables).
            preloaded = PartPreload(workbook, after=pending.wait if pending else None, deflate_cells=True)
        with err.status("Checking rules...") as status:
            _, report = check_with_policy(register, when or register.as_of or date.today(), profile, progress=lambda rid: status.update(f"Checking {rid}..."))
        print_report(report, fmt)
        if output or in_place:
            from apxl.io.writer import write_findings

            target = write_findings(workbook, register, report, output=output, in_place=in_place, preloaded=preloaded)
            err.print(f"Findings written to {target}")
    except ApxlError as exc:
        raise fail(str(exc))
    raise typer.Exit(EXIT_ERRORS if report.has_errors else EXIT_OK)


def show_policy(profile: Optional[str], workbook: Optional[Path], fmt: Format) -> None:
    """Print the effective LA policy: a profile, with a workbook's Rules/Settings sheets applied when given."""
    from apxl.core.parse import register_from_records
    from apxl.core.policy_build import policy_summary
    from apxl.io.profiles import policy_for

    if workbook is not None:
        from apxl.io.reader import read_register

        register = read_register(workbook)
    else:
        register = register_from_records(placements=[])
    policy, problems = policy_for(register, profile)
    summary = policy_summary(policy)
    for message in problems["message"] if len(problems) else []:
        err.print(f"[yellow]POL-001:[/] {message}")
    if fmt is Format.json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
        return
    if fmt is Format.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(summary["routes"][0]) if summary["routes"] else ["route"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(summary["routes"])
        return
    table = RichTable(title=f"{policy.matrix_name}" + (f" ({policy.source})" if policy.source else ""), header_style="bold", show_lines=True)
    for name in ("Route", "Commissioner", "Place (lump sum)", "Top-up", "Registration"):
        table.add_column(name, overflow="fold")
    for row in summary["routes"]:
        cells = []
        for col in ("commissioner", "place_funder", "topup_funder", "registration"):
            wording = row[f"{col}_wording"]
            cells.append(row[col] + (f"\n[dim]'{wording}'[/]" if wording and wording.replace("/", " or ") != row[col] else ""))
        table.add_row(row["route"], *cells)
    out.print(table)
    if summary["missing_routes"]:
        out.print(f"Routes not in this matrix (FND-001 flags them): {', '.join(summary['missing_routes'])}")
    settings = RichTable(header_style="bold")
    settings.add_column("Setting")
    settings.add_column("Value")
    for label, value in summary["thresholds"].items():
        settings.add_row(label, f"{value:g}")
    settings.add_row("Looked-after children from day 1", "Y" if summary["lac_day1"] else "N")
    for stage, amount in summary["awpu"].items():
        settings.add_row(f"AWPU {stage} (FND-005)", f"£{amount:,.2f}")
    for rid, sev in summary["severity_overrides"].items():
        settings.add_row(f"Severity {rid}", sev)
    if summary["disabled_rules"]:
        settings.add_row("Disabled rules", ", ".join(summary["disabled_rules"]))
    out.print(settings)


@app.command()
def rules(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Show this LA policy profile's effective route matrix and thresholds instead (herefordshire, solihull, national)."),
    workbook: Optional[Path] = typer.Option(None, "--workbook", help="With --profile (or alone): apply this register's Rules and Settings sheets on top."),
) -> None:
    """List every rule: id, severity, what it checks and the guidance it comes from.

    Example: [bold]apxl rules --format csv > rules.csv[/]   or   [bold]apxl rules --profile solihull[/]
    """
    if profile or workbook:
        try:
            show_policy(profile, workbook, fmt)
        except ApxlError as exc:
            raise fail(str(exc))
        return
    from apxl.core.rules import catalogue

    items = [{"id": r.id, "severity": r.severity.value, "title": r.title, "source": r.source} for r in catalogue()]
    if fmt is Format.json:
        sys.stdout.write(json.dumps(items, indent=2) + "\n")
        return
    if fmt is Format.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(items[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(items)
        return
    table = RichTable(header_style="bold")
    for name in ("Rule", "Severity", "Checks", "Source"):
        table.add_column(name, overflow="fold")
    for item in items:
        table.add_row(item["id"], item["severity"], item["title"], item["source"])
    out.print(table)


@app.command()
def summarise(
    workbook: Path = typer.Argument(..., help="The register workbook (.xlsx or .xlsm)."),
    term: Optional[str] = typer.Option(None, "--term", help="One term, e.g. 2024-25-spring."),
    year: Optional[str] = typer.Option(None, "--year", help="Every term of an academic year, e.g. 2024-25 (default: the year of the as-of date)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Where to write (default: <name>-summaries.xlsx beside the workbook)."),
    in_place: bool = typer.Option(False, "--in-place", help="Write the summaries into WORKBOOK itself (a backup is kept beside it)."),
    publish: bool = typer.Option(False, "--publish", help="For sharing outside the LA: counts below 5 are shown as <5."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="As-of date (YYYY-MM-DD); overrides the Settings sheet."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Policy profile; overrides the Settings sheet."),
) -> None:
    """Write termly Provider summary and Funding summary sheets (tables and charts) into the workbook.

    Example: [bold]apxl summarise register.xlsx --term 2024-25-spring -o register-spring.xlsx[/]
    """
    from apxl.io.profiles import policy_for
    from apxl.io.reader import read_register
    from apxl.io.summaries import summaries_for, write_summaries

    try:
        when = parse_as_of(as_of)
        with err.status("Reading the register..."):
            register = read_register(workbook)
        policy, _ = policy_for(register, profile)
        with err.status("Working out the summaries..."):
            summaries = summaries_for(register, policy, when or register.as_of or date.today(), term=term, year=year, publish=publish)
            target = write_summaries(workbook, summaries, output=output, in_place=in_place)
    except ApxlError as exc:
        raise fail(str(exc))
    for s in summaries:
        out.print(f"  {s.sheet}")
    err.print(f"{len(summaries)} summary sheets written to {target}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. The default serves this computer only; use 0.0.0.0 only behind your network's protection."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    cert: Optional[Path] = typer.Option(None, "--cert", help="TLS certificate (PEM) for HTTPS; Excel needs HTTPS for add-ins."),
    key: Optional[Path] = typer.Option(None, "--key", help="The certificate's private key (PEM)."),
    token: Optional[str] = typer.Option(None, "--token", help="A shared secret every request must carry; 'auto' makes one. The manifest URL includes it."),
    max_request_mb: float = typer.Option(64, "--max-request-mb", help="Largest request accepted, in MB (a workbook sent by a script counts)."),
) -> None:
    """Serve the Excel add-in: APXL functions, the task pane and its buttons, and the manifest Excel loads.

    Needs the environment variable XLWINGS_LICENSE_KEY=noncommercial (xlwings' server features are free under
    PolyForm Noncommercial for government and educational institutions).

    Example: [bold]XLWINGS_LICENSE_KEY=noncommercial apxl serve --cert localhost.pem --key localhost-key.pem[/]
    """
    from apxl.excel import runtime
    from apxl.excel.manifest import new_token
    from apxl.excel.server import run

    try:
        runtime.server_api()
        if token == "auto":
            token = new_token()
        scheme = "https" if cert else "http"
        shown = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host
        query = f"?token={token}" if token else ""
        err.print(f"apxl add-in server on {scheme}://{shown}:{port}  (Ctrl+C stops it)")
        out.print(f"Manifest: {scheme}://{shown}:{port}/manifest.xml{query}", soft_wrap=True)
        run(host, port, cert=str(cert) if cert else None, key=str(key) if key else None, token=token, max_request_mb=max_request_mb)
    except ApxlError as exc:
        raise fail(str(exc))


def _month_or_this(month: Optional[str]) -> str:
    """--month as YYYY-MM (checked), or this month."""
    from apxl.core.reconcile import month_bounds

    text = month or date.today().strftime("%Y-%m")
    try:
        month_bounds(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return text


@app.command()
def template(
    register: Path = typer.Option(..., "--register", "-r", help="The LA register workbook the schools' placements come from."),
    school: Optional[str] = typer.Option(None, "--school", help="The school's URN."),
    month: Optional[str] = typer.Option(None, "--month", help="The month the return covers, YYYY-MM (default: this month)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Where to write the return (default: return_URN_YYYY-MM.xlsx here)."),
    all_schools: Optional[Path] = typer.Option(None, "--all-schools", help="Write one return per school on the register into this folder."),
) -> None:
    """Write a school's monthly AP return: instructions, the placements the LA knows pre-filled, drop-downs and an attendance grid.

    Example: [bold]apxl template --register register.xlsx --school 100001 --month 2025-03 -o return_100001.xlsx[/]
    """
    from apxl.io.returns.api import make_templates

    try:
        written = make_templates(register, _month_or_this(month), issued=date.today(), school=school, output=output, all_schools=all_schools)
    except ApxlError as exc:
        raise fail(str(exc))
    for path in written:
        out.print(str(path))
    err.print(f"{len(written)} return template(s) written.")


@app.command()
def ingest(
    return_file: Path = typer.Argument(..., help="The school's return (.xlsx only: anything else is refused unread)."),
    register: Path = typer.Option(..., "--register", "-r", help="The LA register workbook."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the register with the accepted rows here (default: REGISTER-merged.xlsx)."),
    in_place: bool = typer.Option(False, "--in-place", help="Add the accepted rows to REGISTER itself (a backup is kept beside it)."),
    feedback: Optional[Path] = typer.Option(None, "--feedback", help="Where to write the school's feedback workbook (default: RETURN-feedback.xlsx beside the register output)."),
    school: Optional[str] = typer.Option(None, "--school", help="The school's URN, when the return does not say."),
    month: Optional[str] = typer.Option(None, "--month", help="The month the return covers, YYYY-MM, when the return does not say."),
    received: Optional[str] = typer.Option(None, "--received", help="Date the return arrived (default: today); recorded with each added row."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Check as of this date (default: the date received)."),
    no_merge: bool = typer.Option(False, "--no-merge", help="Only check the return and write the feedback; leave the register alone."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="How to print the result: table, json or csv (findings)."),
) -> None:
    """Check a school's return with the register's rules, write feedback for the school and add its new placements to the register.

    Example: [bold]apxl ingest return_100001.xlsx --register register.xlsx -o register-merged.xlsx[/]
    """
    from apxl.io.returns.api import run_ingest

    try:
        got = parse_as_of(received) or date.today()
        done = run_ingest(return_file, register, received=got, as_of=parse_as_of(as_of), school=school,
                          month=_month_or_this(month) if month else None, output=output, in_place=in_place, feedback=feedback, merge=not no_merge)
    except ApxlError as exc:
        raise fail(str(exc))
    result = done.result
    if fmt is Format.json:
        data = {"return": result.summary(), "rows": result.row_records(), **result.report.to_json_dict()}
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    elif fmt is Format.csv:
        result.report.frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        table = RichTable(header_style="bold")
        for name in ("Row", "Status", "Placement ID"):
            table.add_column(name)
        for rec in result.row_records():
            table.add_row(str(rec["row"]), rec["status"], str(rec["placement_id"]))
        out.print(table)
        print_report(result.report, fmt)
    err.print(f"Feedback for the school written to {done.feedback}")
    if done.merged is not None:
        err.print(f"{len(done.added)} placement(s) added to {done.merged}")
    raise typer.Exit(EXIT_ERRORS if result.has_errors else EXIT_OK)


@app.command()
def reconcile(
    register: Path = typer.Option(..., "--register", "-r", help="The LA register workbook."),
    returns: Path = typer.Option(..., "--returns", help="The folder holding the month's school returns."),
    month: str = typer.Option(..., "--month", help="The month reconciled, YYYY-MM."),
    invoices: Optional[Path] = typer.Option(None, "--invoices", help="Providers' invoices for the month (CSV or .xlsx: Provider ID, Amount, optional Month and Invoice ref)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="The reconciliation workbook (default: reconciliation-YYYY-MM.xlsx beside the register)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table (counts) or json (the full summary scripts read)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Check as of this date (default: the last day of the month)."),
    invoice_scope: str = typer.Option("la", "--invoice-scope", help="Compare invoices with what the LA pays ('la') or with every payer ('all')."),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Invoice differences up to this many pounds count as matching."),
) -> None:
    """Reconcile a month's school returns with the register: missing and extra placements, differences, non-returns, REG-005, attendance and invoices.

    Exit code 0 when everything reconciles, 1 when there are differences to look at, 2 when it cannot run.

    Example: [bold]apxl reconcile --register register.xlsx --returns returns/2025-03 --month 2025-03 --invoices invoices.csv --format json[/]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from apxl.core.reconcile import month_bounds
    from apxl.io.returns.api import run_reconcile

    month = _month_or_this(month)
    try:
        when = parse_as_of(as_of) or month_bounds(month)[1].date()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:
            task = bar.add_task("Reading returns", total=None)
            done = {"n": 0}

            def step(label: str) -> None:
                # File names may contain a school's name but never a pupil's; show only the stage and count.
                if label in {"checking rows", "checking across schools", "invoices"}:
                    bar.update(task, description=label.capitalize())
                else:
                    done["n"] += 1
                    bar.update(task, completed=done["n"])

            rec, target = run_reconcile(register, returns, month, as_of=when, invoices=invoices, output=output, invoice_scope=invoice_scope,
                                        tolerance_pence=int(round(tolerance * 100)), progress=step,
                                        on_files=lambda n: bar.update(task, total=n))
    except ApxlError as exc:
        raise fail(str(exc))
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rec.summary(), indent=2, default=str) + "\n")
    else:
        table = RichTable(header_style="bold")
        table.add_column("Check")
        table.add_column("Count", justify="right")
        for name, value in rec.counts.items():
            table.add_row(name.replace("_", " "), str(value))
        out.print(table)
    err.print(f"Reconciliation workbook written to {target}")
    raise typer.Exit(EXIT_ERRORS if rec.has_discrepancies else EXIT_OK)


@app.command()
def new(
    output: Path = typer.Argument(..., help="Where to write the blank register: .xlsx, or .xlsm for the macro-enabled template."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Fill Settings and the Rules sheet's route matrix from this LA policy profile (e.g. herefordshire, solihull)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it already exists."),
) -> None:
    """Write a blank register: every sheet as an Excel table with drop-down lists, date formats and instructions.

    Example: [bold]apxl new register.xlsx --profile herefordshire[/]
    """
    from apxl.io.template import new_register

    try:
        target = new_register(output, profile=profile, force=force)
    except ApxlError as exc:
        raise fail(str(exc))
    out.print(str(target))
    err.print(f"Blank register written{' for profile ' + profile if profile else ''}: fill in Providers, then Placements.")


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("apxl-demo"), "--out", help="Folder for the demo register, its findings workbook and the list of planted problems."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed: the same seed always gives the same register."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Check as of this date, YYYY-MM-DD, within 2024-25 (default 2025-07-11)."),
    placements: int = typer.Option(300, "--placements", min=1, help="Background placements to generate; the planted problems add about 60."),
) -> None:
    """Build a synthetic LA register for 2024-25 with planted problems, check it and write the findings workbook.

    The register is invented (no real pupils) and deliberately holds problems for every rule, so the
    command exits 0 even though there are error findings: the demo is meant to show them.

    Example: [bold]apxl demo --out ./apxl-demo[/]
    """
    from apxl.demo import DEFAULT_AS_OF, DEFAULT_SEED
    from apxl.demo.run import run_demo

    try:
        when = parse_as_of(as_of) or DEFAULT_AS_OF
        with err.status("Building the demo register...") as status:
            run = run_demo(out_dir, seed=DEFAULT_SEED if seed is None else seed, as_of=when, placements=placements,
                           progress=lambda msg: status.update(msg))
    except ApxlError as exc:
        raise fail(str(exc))
    print_demo_summary(run)


def print_demo_summary(run) -> None:
    """Counts by severity, the most frequent rules and where the files are (no pupil data is printed)."""
    from apxl.core.rules import catalogue

    counts = run.report.counts
    titles = {r.id: r.title for r in catalogue()}
    demo = run.demo
    out.print(f"[bold]Demo register[/] ({len(demo.placements)} placements, {len(demo.providers)} providers, "
              f"{len(demo.attendance):,} attendance sessions; as of {demo.as_of:%d/%m/%Y}, profile {demo.profile})")
    out.print(f"[bold]{counts['total']} findings:[/] [red]{counts['error']} errors[/], [yellow]{counts['warning']} warnings[/], "
              f"[cyan]{counts['info']} info[/] from {len(counts['by_rule'])} rules; {len(demo.manifest)} problems were planted.")
    table = RichTable(header_style="bold", title="Most frequent rules")
    for name in ("Rule", "Findings", "What it checks"):
        table.add_column(name, overflow="fold")
    for rid, n in sorted(counts["by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        table.add_row(rid, str(n), titles.get(rid, ""))
    out.print(table)
    out.print(f"Register:         {run.register_path}", soft_wrap=True)
    out.print(f"Findings:         {run.findings_path}", soft_wrap=True)
    if run.summary_sheets:
        out.print(f"Summaries:        {len(run.summary_sheets)} sheets in the findings workbook ({run.summary_sheets[0]} ... {run.summary_sheets[-1]})", soft_wrap=True)
    out.print(f"Planted problems: {run.manifest_path}", soft_wrap=True)


def main() -> None:
    """Console entry point: one clear sentence instead of a traceback when apxl cannot run."""
    try:
        app()
    except ApxlError as exc:
        err.print(f"[bold red]apxl:[/] {exc}")
        sys.exit(EXIT_CANNOT_RUN)


if __name__ == "__main__":
    main()
