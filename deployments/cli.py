"""`netsift`: the flows from a terminal, with exit codes scripts can trust.

Exit codes: 0 all good; 1 a run failed (some objects failed; the run is
Failed in Prefect too); 2 bad usage or configuration, told in one line
(--debug or NETSIFT_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Optional

import typer

from netsift.deployments.cli_output import console, error_line, print_line, print_table
from netsift.deployments.local_api import running_local_api
from netsift.deployments.prefect_api import configured_api_url, database_tags, prefect_api, quiet_prefect
from netsift.preflight import Mistake, check_database, check_port_free, check_source
from netsift.settings import Settings
from netsift.wording import plural

# Help texts are plain text: `s3://bucket[/prefix]` is not Rich markup.
app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=None,
                  pretty_exceptions_enable=False)  # fmt: skip
db_app = typer.Typer(no_args_is_help=True, help="Schema management.", rich_markup_mode=None)
app.add_typer(db_app, name="db")


@app.callback()
def options(debug: bool = typer.Option(False, "--debug", envvar="NETSIFT_DEBUG",
                                       help="Show tracebacks (also NETSIFT_DEBUG=1)")) -> None:  # fmt: skip
    if debug:
        os.environ["NETSIFT_DEBUG"] = "1"


DatabaseUrl = typer.Option(
    None,
    "--database-url",
    envvar="NETSIFT_DATABASE_URL",
    help="SQLAlchemy URL (default: SQLite file netsift.db). Also NETSIFT_DATABASE_URL.",
    show_default=False,
)


def use_database(url: Optional[str]) -> str:
    """Hand the URL to the flows through the environment, never as a flow
    parameter: Prefect stores and shows parameters, and URLs hold passwords.
    The database answers once, quickly, before anything else starts."""
    if url:
        os.environ["NETSIFT_DATABASE_URL"] = url
    url = Settings().database_url
    check_database(url)
    return url


@contextmanager
def flow_runs(url: str):
    """Prefect's API for this command's runs (see prefect_api.py), each run
    tagged with its database for `netsift status`."""
    with prefect_api():
        from prefect import tags

        with tags(*database_tags(url)):
            yield


@db_app.command("upgrade")
def db_upgrade(database_url: Optional[str] = DatabaseUrl) -> None:
    """Bring the schema up to date, and nothing else."""
    from netsift.db import upgrade
    from netsift.settings import redacted

    url = use_database(database_url)
    upgrade(url)
    print_line(f"schema up to date: {redacted(url)}")


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
    from netsift.ingest.sources import Window

    try:
        Window.of(distribution, since, until)
    except ValueError as error:
        raise Mistake(f"--since/--until: {error}") from None
    url = use_database(database_url)
    check_source(source)
    with flow_runs(url):
        from netsift.flows.cloudfront_ingest import cloudfront_ingest

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
    url = use_database(database_url)
    check_source(source)
    with flow_runs(url):
        from netsift.flows.pcap_ingest import pcap_ingest

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

    if not cloudfront_source:
        raise Mistake("give --cloudfront-source or set NETSIFT_CLOUDFRONT_SOURCE")
    url = use_database(database_url)
    for source in filter(None, (cloudfront_source, pcap_source)):
        check_source(source)
    from prefect import serve as prefect_serve

    from netsift.deployments.serve import deployments

    served = deployments(cloudfront_source, pcap_source)
    for deployment in served:  # runs tagged with their database, for `netsift status`
        deployment.tags = [*(deployment.tags or []), *database_tags(url)]
    prefect_serve(*served)


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
        raise Mistake(f"browse: {error}") from None
    check_port_free(host, port)
    upgrade(url)
    from netsift.console.app import create_app

    app_ = create_app(url, token, loopback_hosts(port) if is_loopback(host) else None,
                      settings.browse_query_timeout_seconds)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + ("?token=<NETSIFT_BROWSE_TOKEN>" if token else "")
    print_line(f"netsift console on {address} over {redacted(url)}")
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

    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError as error:
        raise Mistake(f"--since: {error}; give an ISO datetime such as 2026-11-24T00:00") from None
    check_rules(rules)
    url = use_database(database_url)
    with flow_runs(url):
        from netsift.flows.detect import detect_flow

        state = detect_flow(since=start, rules_files=rules or None, return_state=True)
    finish(state, "detect", as_json, print_alerts)


def check_rules(paths: list[str]) -> None:
    """Each --rules file exists and loads (a bad rule is named with its reason)."""
    from netsift.detection.ruleset import RuleError, load_rules

    for path in paths:
        if not os.path.isfile(path):
            raise Mistake(f"rules file {path} does not exist: give --rules the path of a YAML rules file")
    try:
        load_rules(paths)
    except RuleError as error:
        raise Mistake(f"--rules: {error}") from None


def print_alerts(outcome: dict, _flow_name: str) -> None:
    print_table(f"alerts: {outcome['new']} new, {outcome['updated']} updated",
                ("state", "rule", "severity", "source", "client_ip", "hits", "paths", "statuses"),
                [(a["state"], a["rule"], a["severity"], a["source"], a["client_ip"], a["hits"],
                  a["distinct_paths"], a["status_codes"]) for a in outcome["alerts"]])  # fmt: skip


def finish(state, flow_name: str, as_json: bool, printer=None) -> None:
    """Print a run's outcome (JSON for scripts) and exit with its code."""
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, dict):
        error_line(f"{flow_name} crashed: {type(summary).__name__}: {summary}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        (printer or print_ingest)(summary, flow_name)
    raise typer.Exit(0 if state.is_completed() else 1)


def print_ingest(summary: dict, flow_name: str) -> None:
    results = summary["results"]
    print_table(flow_name, ("object", "status", "rows", "rejected", "error"),
                [(r["uri"], r["status"], r["rows_loaded"], r["rows_rejected"], r.get("error")) for r in results],
                [{"failed": "red", "skipped": "dim"}.get(r["status"], "") for r in results])  # fmt: skip
    print_line(counts_line(summary))


def counts_line(summary: dict) -> str:
    """`1 object: 1 loaded, 0 skipped, 0 partial, 0 failed; 2 rows loaded, 0 rejected`."""
    line = (f"{plural(summary['objects'], 'object')}: {summary['loaded']} loaded, {summary['skipped']} skipped, "
            f"{summary['partial']} partial, {summary['failed']} failed; "
            f"{plural(summary['rows_loaded'], 'row')} loaded, {summary['rows_rejected']} rejected")  # fmt: skip
    per_table = [f"{plural(v, 'row')} in {k.removeprefix('rows_')}" for k, v in summary.items()
                 if k.startswith("rows_") and k not in ("rows_loaded", "rows_rejected")]  # fmt: skip
    return line + (" (" + ", ".join(per_table) + ")" if per_table else "")


@app.command()
def status(
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
    runs: bool = typer.Option(True, help="Also list this database's last runs from the Prefect server (PREFECT_API_URL)"),
) -> None:
    """Feeds at a glance: objects per state, newest traffic per distribution and
    capture folder (stale ones flagged), and the last runs."""
    from netsift.analyst.status import database_tag, feed_status, recent_runs
    from netsift.db import engine_for, upgrade

    url = use_database(database_url)
    upgrade(url)
    result = feed_status(engine_for(url))
    with running_local_api() as local:
        api = configured_api_url() or local
        if runs and not api:
            result["runs_error"] = ("no Prefect server configured (and no local API running): set "
                                    "PREFECT_API_URL to list this database's runs")  # fmt: skip
        elif runs:
            os.environ["PREFECT_API_URL"] = api  # before Prefect is imported
            try:
                result["runs"] = recent_runs(database_tag(url))
            except Exception as error:  # the server is down: the feeds still tell
                result["runs_error"] = f"Prefect server {api}: {type(error).__name__}: {error}"
    if as_json:
        print(json.dumps(result, default=str))
        raise typer.Exit(0)
    for title, rows in (("Objects", result["objects"]), ("CloudFront distributions", result["distributions"]),
                        ("Capture folders", result["capture_folders"]), ("Last runs", result.get("runs"))):  # fmt: skip
        if rows is None:
            continue
        print_table(title, list(rows[0]) if rows else [], [list(r.values()) for r in rows],
                    ["red" if r.get("stale") or r.get("state") in ("Failed", "Crashed") else "" for r in rows])  # fmt: skip
    if "runs_error" in result:
        print_line(f"runs: {result['runs_error']}")


@app.command()
def report(database_url: Optional[str] = DatabaseUrl) -> None:
    """What the database holds: requests per distribution, top clients, paths, statuses."""
    from netsift.analyst.report import overview
    from netsift.db import engine_for, upgrade

    url = use_database(database_url)
    upgrade(url)
    for title, columns, rows in overview(engine_for(url)):
        print_table(title, columns, rows)


@app.command()
def prune(
    older_than: str = typer.Option(..., "--older-than", help="Age in days or hours, e.g. 90d or 36h"),
    database_url: Optional[str] = DatabaseUrl,
    as_json: bool = typer.Option(False, "--json", help="Print rows removed per table as JSON"),
) -> None:
    """Remove requests, capture rows, rejected lines and alerts older than an age; the ledger stays."""
    from netsift.retention import cutoff_of

    try:
        cutoff_of(older_than)
    except ValueError as error:
        raise Mistake(f"--older-than: {error}") from None
    url = use_database(database_url)
    with flow_runs(url):
        from netsift.flows.prune import prune_flow

        state = prune_flow(older_than=older_than, return_state=True)
    removed = state.result(raise_on_failure=False)
    if not isinstance(removed, dict):
        error_line(f"prune failed: {removed}")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(removed))
    else:
        print_line(", ".join(f"{table}: {count:,}" for table, count in removed.items()))


@app.command()
def findings(database_url: Optional[str] = DatabaseUrl) -> None:
    """What we found: alerts, the top probing clients, bot share, executables carried over HTTP."""
    from netsift.analyst.findings import findings as what_we_found
    from netsift.db import engine_for, upgrade

    url = use_database(database_url)
    upgrade(url)
    print_line("What we found")
    for title, columns, rows in what_we_found(engine_for(url)):
        print_table(title, columns, rows or [["none"] + [""] * (len(columns) - 1)])


def setting_mistake(error: Exception) -> str | None:
    """A NETSIFT_ variable (environment or .env) that does not validate: which
    one and why, without its value (it may be a URL with a password)."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError) or error.title != "Settings":
        return None
    first = error.errors()[0]
    field = str(first["loc"][0]).upper() if first.get("loc") else ""
    name = f"NETSIFT_{field}" if field else "a NETSIFT_ setting"
    return f"{name}: {first['msg']}; fix it in the environment or in .env"


def main() -> None:
    """Every mistake one line on stderr and exit code 2; an unexpected error
    one line and exit code 1; tracebacks only with --debug or NETSIFT_DEBUG=1."""
    quiet_prefect()
    debug = os.environ.get("NETSIFT_DEBUG", "").lower() in ("1", "true", "yes") or "--debug" in sys.argv[1:]
    try:
        app()
    except Mistake as mistake:
        if debug:
            raise
        error_line(str(mistake))
        sys.exit(2)
    except Exception as error:
        if debug:
            raise
        if (setting := setting_mistake(error)) is not None:
            error_line(setting)
            sys.exit(2)
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        error_line(f"{type(error).__name__}: {first} (--debug shows the traceback)")
        sys.exit(1)


if __name__ == "__main__":
    main()
