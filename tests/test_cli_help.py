"""Every command has help and exits 0 on --help."""
from click.testing import CliRunner

from scraper.cli import cli


def test_group_help_lists_commands():
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in cli.commands:
        assert name in res.output


def test_every_command_has_help():
    runner = CliRunner()
    for name, cmd in cli.commands.items():
        res = runner.invoke(cli, [name, "--help"])
        assert res.exit_code == 0, name
        assert cmd.help, f"{name} has no help text"
