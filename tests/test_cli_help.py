"""`--help` works for the top-level command and every subcommand, and shows
every option: help texts are plain text, never markup to crash on."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from netsift.deployments.cli import app


def every_command(group, path=()):
    yield path, group
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (Typer's own, not click's class)
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_shows_its_help_and_options():
    root = typer.main.get_command(app)
    seen = []
    for path, command in every_command(root):
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, f"netsift {' '.join(path)} --help:\n{result.output}"
        assert "Usage:" in result.output
        for param in command.params:
            if param.param_type_name == "option":
                assert param.opts[0] in result.output, f"{param.opts[0]} missing from {' '.join(path)} --help"
        seen.append(" ".join(path))
    assert {"cloudfront", "pcap", "alerts", "report", "status", "serve", "browse", "db upgrade"} <= set(seen)
