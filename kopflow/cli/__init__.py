"""The ``kopflow`` command: root group, lazy subcommands, global options, and the one place that
turns a :class:`~kopflow.errors.KopflowError` into a single ``Error:`` line and an exit code.

Quick start, from a clone: ``bash scripts/demo`` (installs, imports Buleleng, drives a few
cooperatives, prints the status table) and ``bash scripts/test``.

Subcommand modules are imported only when their command runs, so ``kopflow --help`` does not
pay for the database layer (issue #5).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NoReturn

import click

from kopflow.i18n import N_, _, click_msgids, install_for_click, set_language

if TYPE_CHECKING:
    from kopflow.engine import Kopflow
    from kopflow.host.manager import PluginHost

# name -> (module, attribute, short help msgid). Short help lives here so listing commands
# imports none of them.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "kopflow.cli.db",
        "init_cmd",
        N_("Create the database (or upgrade it) and start the audit log."),
    ),
    "demo": (
        "kopflow.cli.demo",
        "demo_cmd",
        N_("Try kopflow on made-up data, in a database of its own (./kopflow-demo.db)."),
    ),
    "db": ("kopflow.cli.db", "db_group", N_("Database schema and maintenance.")),
    "coop": ("kopflow.cli.coop", "coop_group", N_("Register, list and show cooperatives.")),
    "step": (
        "kopflow.cli.step",
        "step_group",
        N_("Complete, correct or undo a step with its evidence."),
    ),
    "next": ("kopflow.cli.flow", "next_cmd", N_("What can be done now for a cooperative.")),
    "advance": ("kopflow.cli.flow", "advance_cmd", N_("Move cooperatives to their next stage.")),
    "status": ("kopflow.cli.flow", "status_cmd", N_("Count cooperatives per stage.")),
    "report": (
        "kopflow.cli.report",
        "report_cmd",
        N_("Write a kabupaten's report: one HTML file with charts, in Bahasa Indonesia."),
    ),
    "workflow": (
        "kopflow.cli.workflow",
        "workflow_group",
        N_("Show, check, draw and migrate workflow definitions."),
    ),
    "partner": (
        "kopflow.cli.partner",
        "partner_group",
        N_("Partners: the directory, onboarding (enroll, steps, status)."),
    ),
    "forum": (
        "kopflow.cli.forum",
        "forum_group",
        N_("Partnership forums: create, invite, attendance, show, list."),
    ),
    "lead": (
        "kopflow.cli.lead",
        "lead_group",
        N_("Leads with partners: interest, letter of intent, agreement."),
    ),
    "plugins": ("kopflow.cli.plugins", "plugins_group", N_("List and check installed plugins.")),
    "actor": ("kopflow.cli.actor", "actor_group", N_("Who may use kopflow, with which role.")),
    "audit": (
        "kopflow.cli.audit",
        "audit_group",
        N_("Read, verify, export and sign the audit log."),
    ),
}

# Every exit status of every command (issue #12): `kopflow --help` lists them, docs/cli.md too,
# and tests/cli/test_exit_codes.py holds the three to the error classes of kopflow.errors.
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, N_("done")),
    (1, N_("another error, e.g. a question at the prompt was aborted")),
    (
        2,
        N_(
            "wrong input: an unknown name, a bad value or option, an unreadable file, an "
            "invalid workflow definition"
        ),
    ),
    (
        3,
        N_(
            "refused by the workflow (a guard, the order of steps or stages); for a bulk "
            "command: every cooperative was refused"
        ),
    ),
    (4, N_("conflict: the cooperative changed since you read it (--expect-version)")),
    (5, N_("permission denied: your role, region or partner may not do this")),
    (6, N_("a plugin failed to load, raised an error or returned malformed data")),
    (7, N_("the audit log or an audit file does not verify")),
    (8, N_("a bulk command was refused in part: some cooperatives done, some refused")),
    (
        10,
        N_(
            "the database or disk is full or read-only: nothing was written; free space or "
            "make the database writable"
        ),
    ),
    (70, N_("unexpected error, a bug to report (KOPFLOW_DEBUG=1 shows the details)")),
    (75, N_("the database is busy: another writer held it past the time limit; try again")),
    (130, N_("interrupted (Ctrl-C); every change committed before it is whole")),
    (141, N_("the reader of the output went away (e.g. '| head'); nothing is wrong")),
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _TranslatedHelp:
    """Help text and option help are msgids, translated when shown (``N_`` marks them)."""

    help: str | None
    short_help: str | None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click translates the -h/--help text once, when it makes the option, and keeps the
        # option: the root makes it while parsing, before --lang is applied. Made with the
        # msgid, it is translated by format_options when shown, like every option's help.
        with click_msgids():
            return super().get_help_option(ctx)  # type: ignore[misc,no-any-return]  # a mixin: mypy cannot see the click.Command it is mixed into

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        saved = self.help
        if saved:
            self.help = _(saved)
        try:
            super().format_help_text(ctx, formatter)  # type: ignore[misc]  # a mixin: mypy cannot see the click.Command it is mixed into
        finally:
            self.help = saved

    def get_short_help_str(self, limit: int = 45) -> str:
        saved = self.help
        if saved:
            self.help = _(saved)
        try:
            return super().get_short_help_str(limit)  # type: ignore[misc,no-any-return]  # a mixin: mypy cannot see the click.Command it is mixed into
        finally:
            self.help = saved

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]  # a mixin: mypy cannot see the click.Command it is mixed into
            # Translate the help itself, before click appends "[default: ...]", "[required]"
            # or a range: the msgid never contains those.
            saved = getattr(param, "help", None)
            if saved:
                param.help = _(saved)
            try:
                record = param.get_help_record(ctx)
            finally:
                if saved:
                    param.help = saved
            if record is not None:
                records.append(record)
        if records:
            with formatter.section(_("Options")):
                formatter.write_dl(records)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)


class TranslatedCommand(_TranslatedHelp, click.Command):
    """A command whose help is translated when shown."""


class TranslatedGroup(_TranslatedHelp, click.Group):
    """A group of translated commands, whose subgroups are translated groups too."""

    command_class = TranslatedCommand


TranslatedGroup.group_class = TranslatedGroup


class LazyGroup(TranslatedGroup):
    """The root group: imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(LAZY_COMMANDS) | set(super().list_commands(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = super().get_command(ctx, cmd_name)
        if known is not None:
            return known
        if cmd_name not in LAZY_COMMANDS:
            # Issue #3: a name kopflow does not know may be a plugin's command. Plugins are
            # loaded only here, so --help and built-in commands never pay for them: a broken or
            # slow plugin costs --help nothing.
            return app_of(ctx).plugin_command(cmd_name)
        import importlib

        module, attribute, _short = LAZY_COMMANDS[cmd_name]
        # click translates a few texts when a command is defined (a Path's "file" in metavars
        # and errors): defined from the msgids, every command reads the same in every language.
        with click_msgids():
            command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:  # parsing prints --help and usage errors
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            closed_pipe()

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a KopflowError becomes one ``Error:`` line and its exit code."""
        from kopflow.errors import EXIT_BUG, EXIT_INTERRUPTED, KopflowError
        from kopflow.text import escape, excerpt

        try:
            try:
                return super().invoke(ctx)
            except Exception as err:
                # A full disk, a read-only database, a missing schema: ordinary failures
                # with a message and status of their own, not bugs (issue #14).
                from kopflow.store.failures import explain

                if isinstance(err, KopflowError) or (known := explain(err)) is None:
                    raise
                raise known from err
        except KopflowError as err:
            if not getattr(err, "logged", False):
                # Issue #4: refusals outside the engine's write path (bulk scope checks, reads,
                # database refusals) are logged too, exactly once.
                from kopflow.log import get_logger

                get_logger().warning("refused", reason=str(err), error=type(err).__name__)
            # escaped: a message may quote stored text or a file's (issue #14)
            click.echo(_("Error") + f": {escape(str(err))}", err=True)
            ctx.exit(err.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # The reader went away (`kopflow coop show X | head -1`): nothing to say to anyone.
            closed_pipe()
        except KeyboardInterrupt:
            click.echo(_("Interrupted; every change committed so far is whole."), err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as err:  # noqa: BLE001 -- last line of defence: one line, no traceback
            if os.environ.get("KOPFLOW_DEBUG"):
                raise
            message = _("unexpected {kind}: {error} (set KOPFLOW_DEBUG=1 for details)")
            # Driver errors run over several lines; the promise is one line (issue #2).
            first_line = (str(err).strip().splitlines() or [""])[0]
            click.echo(
                _("Error")
                + ": "
                + message.format(kind=type(err).__name__, error=excerpt(first_line, 300)),
                err=True,
            )
            ctx.exit(EXIT_BUG)
        finally:
            _warn_notification_failures(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _(LAZY_COMMANDS[name][2])) for name in sorted(LAZY_COMMANDS)]
        extra = [n for n in super().list_commands(ctx) if n not in LAZY_COMMANDS]
        for name in extra:  # commands added by plugins
            command = super().get_command(ctx, name)
            if command is not None:
                rows.append((name, command.get_short_help_str()))
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)
        # Plugins are not loaded to print this help (issue #3): say where their commands are.
        formatter.write_paragraph()
        formatter.write_text(_("Plugins may add commands: 'kopflow plugins list' shows them."))

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The exit codes, the same for every command (issue #12; docs/cli.md)."""
        with formatter.section(_("Exit codes")):
            formatter.write_dl([(str(code), _(meaning)) for code, meaning in EXIT_CODES])


def _warn_notification_failures(ctx: click.Context) -> None:
    """One stderr line per distinct after-hook failure of this command (issue #13): the change
    is committed, and the failure was only in the log before. A bulk command's thousands of
    equal failures are one line with their count."""
    app = ctx.find_root().obj
    host = getattr(app, "_plugins", None) if isinstance(app, App) else None
    failures = getattr(host, "notify_failures", None)
    if not failures:
        return
    counts: dict[str, int] = {}
    for line in failures:
        counts[line] = counts.get(line, 0) + 1
    failures.clear()
    for line, count in counts.items():
        text = _("{error}; the change is committed", error=line)
        if count > 1:
            text += f" (×{count})"
        click.echo(_("Warning") + ": " + text, err=True)


class App:
    """Settings of one invocation, and the engine built from them on first use."""

    def __init__(self, plugin_host: PluginHost | None = None, **options: Any) -> None:
        self.options = options
        self._engine: Kopflow | None = None
        self._plugins = plugin_host  # kopflow.testing hands one in; else built on use
        self._plugin_commands: click.Group | None = None

    @property
    def plugins(self) -> PluginHost:
        if self._plugins is None:
            from kopflow.host.config import disabled_plugins
            from kopflow.host.manager import make_plugin_host

            # Deferred: loaded when a command first asks about plugins (issue #15).
            self._plugins = make_plugin_host(
                extra_modules=self.options.get("plugin") or (),
                disabled=[*(self.options.get("disable_plugin") or ()), *disabled_plugins()],
                defer=True,
            )
        return self._plugins

    def plugin_commands(self) -> click.Group:
        """The commands plugins add (``kopflow_register_commands``), asked for once.

        They go into a group of their own, never into the root group: the root stays as
        defined however often one process invokes it (tests), and the built-in names are
        listed to the plugin host, which refuses a plugin that would replace one.
        """
        if self._plugin_commands is None:
            self._plugin_commands = _PluginCommands("kopflow")
            with click_msgids():  # as for kopflow's own commands (LazyGroup.get_command)
                self.plugins.register_commands(self._plugin_commands)
        return self._plugin_commands

    def plugin_command(self, name: str) -> click.Command | None:
        """The command ``name`` a plugin added, or None."""
        return self.plugin_commands().commands.get(name)

    @property
    def engine(self) -> Kopflow:
        if self._engine is None:
            from kopflow.engine import Kopflow

            self._engine = Kopflow(
                self.options.get("db"),
                actor=self.options.get("actor"),
                plugins=self.plugins,
            )
        return self._engine


class _PluginCommands(TranslatedGroup):
    """Where plugins put their commands; it lists the built-in names so none is replaced."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(LAZY_COMMANDS) | set(self.commands))


#: kopflow.plugin.QUERIES_KEY, spelt out: importing the plugin API would load pluggy and the
#: workflow specs for every command, ``--help`` included (tests/test_read_api.py checks both
#: say the same).
QUERIES_KEY = "kopflow.queries"


def app_of(ctx: click.Context) -> App:
    """The :class:`App` of this invocation, made from the root group's options on first use.

    ``get_command`` may need it before the root callback runs (click resolves the subcommand
    first). An ``obj`` given to ``cli.main()`` is a ready plugin host (``kopflow.testing``).
    """
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        root.obj = App(plugin_host=root.obj, **root.params)
        # Issue #13: plugin commands read through kopflow.plugin.queries() (pass_queries),
        # which finds the engine's read API here; made on use, so --help opens no database.
        app = root.obj
        root.meta[QUERIES_KEY] = lambda: app.engine.queries()
    return root.obj


def _set_lang(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # Eager, so click's own texts (usage, option help, errors) follow --lang for the rest of
    # the command; without --lang, KOPFLOW_LANG or LANG decide as for kopflow's messages.
    install_for_click(set_language(value))


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--lang",
    type=click.Choice(["id", "en"]),
    is_eager=True,
    expose_value=False,
    callback=_set_lang,
    help=N_("Language of messages (default: KOPFLOW_LANG, else LANG, else id)."),
)
@click.option(
    "--db",
    metavar="URL",
    help=N_(
        "Database: an SQLite file or postgresql+psycopg://... (default: KOPFLOW_DB, else ./kopflow.db)."
    ),
)
@click.option(
    "--actor",
    metavar="NAME",
    help=N_("Act as this actor (default: KOPFLOW_ACTOR, else your login)."),
)
@click.option(
    "--plugin",
    "plugin",
    multiple=True,
    metavar="MODULE",
    help=N_("Load a plugin module or .py file (repeatable; also KOPFLOW_PLUGINS)."),
)
@click.option(
    "--disable-plugin",
    multiple=True,
    metavar="NAME",
    help=N_("Do not load this plugin (repeatable; also KOPFLOW_DISABLE_PLUGINS)."),
)
@click.option("--log-json", is_flag=True, help=N_("Operational logs as JSON lines on stderr."))
@click.option("-v", "--verbose", is_flag=True, help=N_("Log every change on stderr."))
@click.version_option(package_name="kopflow", message="kopflow %(version)s")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """kopflow drives village cooperatives (KDKMP) through formation, legal status,
    consolidation, partner onboarding and operation, with an audit log of every change.

    Quick start from a clone: 'bash scripts/demo', then 'bash scripts/test'.
    """
    app_of(ctx)
    from kopflow.log import bind_context, configure

    configure(json_lines=options["log_json"], verbose=options["verbose"] or options["log_json"])
    bind_context(command=ctx.invoked_subcommand)


def closed_pipe() -> NoReturn:
    """End quietly because the reader of stdout went away: no message, no traceback.

    Whatever is still buffered for stdout goes to /dev/null, so the interpreter's last flush
    cannot complain either (the recipe of the ``signal`` module's documentation).
    """
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (tests): nothing to protect
        pass
    from kopflow.errors import EXIT_CLOSED_PIPE

    # What a shell reports for a program ended by SIGPIPE (128 + 13): pipelines read it as
    # they do for any other program (issue #12).
    raise SystemExit(EXIT_CLOSED_PIPE)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``kopflow`` console script."""
    # Before parsing: click reports a mistake in the root's own options, --lang among them,
    # before any option callback has run.
    install_for_click(set_language(None))
    cli.main(args=argv, prog_name="kopflow")
