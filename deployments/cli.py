"""`netsift`: the flows from a terminal, with exit codes scripts can trust.

Exit codes: 0 all good; 1 some objects failed (the run is Failed in Prefect
too); 2 bad usage.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from netsift.settings import Settings

# Help texts are plain text: `s3://bucket[/prefix]` is not Rich markup.
app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=None)
db_app = typer.Typer(no_args_is_help=True, help="Schema management.", rich_markup_mode=None)
app.add_typer(db_app, name="db")
console = Console()

DatabaseUrl = typer.Option(
    None,
    "--database-url",
    envvar="NETSIFT_DATABASE_URL",
    help="SQLAlchemy URL (default: SQLite file netsift.db). Also NETSIFT_DATABASE_URL.",
    show_default=False,
)


def use_database(url: Optional[str]) -> str:
    """Hand the URL to the flows through the environment, never as a flow
    parameter: Prefect stores and shows parameters, and URLs hold passwords."""
    if url:
        os.environ["NETSIFT_DATABASE_URL"] = url
    return Settings().database_url


@db_app.command("upgrade")
def db_upgrade(database_url: Optional[str] = DatabaseUrl) -> None:
    """Bring the schema up to date, and nothing else."""
    from netsift.db import upgrade
    from netsift.settings import redacted

    url = use_database(database_url)
    upgrade(url)
    console.print(f"schema up to date: {redacted(url)}")


@app.command()
def cloudfront(
    source: str = typer.Argument(..., help="s3://bucket[/prefix], or a local file or folder"),
    since: Optional[str] = typer.Option(None, help="YYYY-MM-DD or ISO datetime, inclusive"),
    until: Optional[str] = typer.Option(
        None, help="YYYY-MM-DD (that whole day included) or ISO datetime (exclusive)"
    ),
    distribution: Optional[str] = typer.Option(None, help="CloudFront distribution id"),
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON"),
) -> None:
    """Ingest CloudFront standard access logs, each object exactly once."""
    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.ingest.sources import Window

    use_database(database_url)
    try:
        Window.of(distribution, since, until)
    except ValueError as error:
        raise typer.BadParameter(f"--since/--until: {error}") from error
    with progress_bar("cloudfront-ingest", enabled=not as_json):
        state = cloudfront_ingest(
            source=source, since=since, until=until, distribution=distribution, return_state=True
        )
    finish(state, "cloudfront-ingest", as_json)


@app.command()
def pcap(
    source: str = typer.Argument(..., help="s3://bucket[/prefix], or a local capture or folder"),
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON"),
) -> None:
    """Dissect packet captures (pcap, pcapng, gzip) into Zeek-style tables."""
    from netsift.flows.pcap_ingest import pcap_ingest

    use_database(database_url)
    with progress_bar("pcap-ingest", enabled=not as_json):
        state = pcap_ingest(source=source, return_state=True)
    finish(state, "pcap-ingest", as_json)


@contextmanager
def progress_bar(label: str, enabled: bool = True):
    """A bar of objects done, on a terminal; nothing in scripts and pipes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from netsift.tasks.fanout import progress_listener

    if not (enabled and console.is_terminal):
        yield
        return
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:  # fmt: skip
        bar = progress.add_task(f"{label}: objects", total=None)
        token = progress_listener.set(lambda done, total: progress.update(bar, completed=done, total=total))
        try:
            yield
        finally:
            progress_listener.reset(token)


@app.command()
def serve(
    cloudfront_source: Optional[str] = typer.Option(
        None, envvar="NETSIFT_CLOUDFRONT_SOURCE", help="s3://bucket/prefix or folder of CloudFront logs"),
    pcap_source: Optional[str] = typer.Option(
        None, envvar="NETSIFT_PCAP_SOURCE", help="s3://bucket/prefix or folder of captures"),
    database_url: Optional[str] = DatabaseUrl,
) -> None:
    """Serve every flow on its schedule from this one process: no work pool needed."""
    from prefect import serve as prefect_serve

    from netsift.deployments.serve import deployments

    if not cloudfront_source:
        raise typer.BadParameter("give --cloudfront-source or set NETSIFT_CLOUDFRONT_SOURCE")
    use_database(database_url)
    prefect_serve(*deployments(cloudfront_source, pcap_source))


@app.command()
def browse(
    host: str = typer.Option("127.0.0.1", help="Address to listen on; beyond loopback needs NETSIFT_BROWSE_TOKEN"),
    port: int = typer.Option(8050, min=1, max=65535, help="Port to listen on"),
    database_url: Optional[str] = DatabaseUrl,
) -> None:
    """The analyst console: filter, sort, plot and export the tables in a browser."""
    from netsift.console.access import AccessError, check_binding, is_loopback, loopback_hosts
    from netsift.db import upgrade
    from netsift.settings import redacted

    url = use_database(database_url)
    settings = Settings()
    token = settings.browse_token
    try:
        check_binding(host, token)
    except AccessError as error:
        console.print(f"[red]netsift browse:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    upgrade(url)
    from netsift.console.app import create_app

    app_ = create_app(url, token, loopback_hosts(port) if is_loopback(host) else None,
                      settings.browse_query_timeout_seconds)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + ("?token=<NETSIFT_BROWSE_TOKEN>" if token else "")
    console.print(f"netsift console on {address} over {redacted(url)}", highlight=False, markup=False)
    app_.run(host=host, port=port, debug=False)


@app.command()
def alerts(
    since: Optional[str] = typer.Option(None, help="ISO datetime: only requests from then on count"),
    rules: list[str] = typer.Option([], "--rules", help="Extra rules file (repeatable)"),
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print new and updated alerts as JSON"),
) -> None:
    """Classify bots and probes, and raise or update alerts."""
    from datetime import datetime

    from netsift.flows.detect import detect_flow

    use_database(database_url)
    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError as error:
        raise typer.BadParameter(f"--since: {error}") from error
    state = detect_flow(since=start, rules_files=rules or None, return_state=True)
    finish(state, "detect", as_json, print_alerts)


def print_alerts(outcome: dict, _flow_name: str) -> None:
    table = Table(title=f"alerts: {outcome['new']} new, {outcome['updated']} updated")
    for column in ("state", "rule", "severity", "source", "client_ip", "hits", "paths", "statuses"):
        table.add_column(column, overflow="fold")
    for a in outcome["alerts"]:
        table.add_row(a["state"], a["rule"], a["severity"], a["source"], a["client_ip"],
                      str(a["hits"]), str(a["distinct_paths"]), a["status_codes"])  # fmt: skip
    console.print(table, markup=False)


def finish(state, flow_name: str, as_json: bool, printer=None) -> None:
    """Print a run's outcome (JSON for scripts) and exit with its code."""
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, dict):
        console.print(f"[red]{flow_name} crashed:[/red] {summary}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        (printer or print_ingest)(summary, flow_name)
    raise typer.Exit(0 if state.is_completed() else 1)


def print_ingest(summary: dict, flow_name: str) -> None:
    table = Table(title=flow_name)
    for column in ("object", "status", "rows", "rejected", "error"):
        table.add_column(column, overflow="fold")
    for r in summary["results"]:
        style = {"failed": "red", "skipped": "dim"}.get(r["status"], "")
        table.add_row(
            r["uri"], r["status"], str(r["rows_loaded"]), str(r["rows_rejected"]),
            r.get("error") or "", style=style,
        )  # fmt: skip
    console.print(table, markup=False)
    counts = {k: v for k, v in summary.items() if k != "results"}
    console.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))


@app.command()
def status(
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
    runs: bool = typer.Option(True, help="Also list the last flow runs Prefect knows"),
) -> None:
    """Feeds at a glance: objects per state, newest traffic per distribution and
    capture folder (stale ones flagged), and the last runs."""
    from netsift.db import engine_for, upgrade
    from netsift.analyst.status import feed_status, recent_runs

    url = use_database(database_url)
    upgrade(url)
    result = feed_status(engine_for(url))
    if runs:
        try:
            result["runs"] = recent_runs()
        except Exception as error:  # no Prefect server reachable: the feeds still tell
            result["runs_error"] = f"{type(error).__name__}: {error}"
    if as_json:
        print(json.dumps(result, default=str))
        raise typer.Exit(0)
    for title, rows in (("Objects", result["objects"]), ("CloudFront distributions", result["distributions"]),
                        ("Capture folders", result["capture_folders"]), ("Last runs", result.get("runs", []))):  # fmt: skip
        table = Table(title=title)
        if rows:
            for column in rows[0]:
                table.add_column(column, overflow="fold")
            for row in rows:
                style = "red" if row.get("stale") or row.get("state") in ("Failed", "Crashed") else ""
                table.add_row(*("" if v is None else str(v) for v in row.values()), style=style)
        console.print(table, markup=False)
    if "runs_error" in result:
        console.print(f"runs: {result['runs_error']}", markup=False)


@app.command()
def report(database_url: Optional[str] = DatabaseUrl) -> None:
    """What the database holds: requests per distribution, top clients, paths, statuses."""
    from netsift.db import engine_for, upgrade
    from netsift.analyst.report import overview

    url = use_database(database_url)
    upgrade(url)
    for title, columns, rows in overview(engine_for(url)):
        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table, markup=False)


@app.command()
def prune(
    older_than: str = typer.Option(..., "--older-than", help="Age in days or hours, e.g. 90d or 36h"),
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print rows removed per table as JSON"),
) -> None:
    """Remove requests, capture rows, rejected lines and alerts older than an age; the ledger stays."""
    from netsift.flows.prune import prune_flow
    from netsift.retention import cutoff_of

    try:
        cutoff_of(older_than)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--older-than") from None
    use_database(database_url)
    state = prune_flow(older_than=older_than, return_state=True)
    removed = state.result(raise_on_failure=False)
    if not isinstance(removed, dict):
        console.print(f"prune failed: {removed}", markup=False)
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(removed))
    else:
        console.print(", ".join(f"{table}: {count:,}" for table, count in removed.items()), markup=False)
    raise typer.Exit(0)


@app.command()
def findings(database_url: Optional[str] = DatabaseUrl) -> None:
    """What we found: alerts, the top probing clients, bot share, executables carried over HTTP."""
    from netsift.analyst.findings import findings as what_we_found
    from netsift.db import engine_for, upgrade

    url = use_database(database_url)
    upgrade(url)
    console.print("What we found", style="bold")
    for title, columns, rows in what_we_found(engine_for(url)):
        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        if not rows:
            table.add_row(*(["none"] + [""] * (len(columns) - 1)))
        console.print(table, markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
