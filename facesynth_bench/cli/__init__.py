"""The `fsbench` command line: thin typer commands over the library.

Each command lives in its own module and is mounted here; command modules import the
library inside their functions, so `fsbench --help` never loads torch or matplotlib.
A FsbenchError raised anywhere below becomes a one-line message on stderr and exit code 1;
any other exception becomes one line too, with its full traceback written to a file.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from facesynth_bench import __version__
from facesynth_bench.cli.align import align_command
from facesynth_bench.cli.click_compat import ClickException
from facesynth_bench.cli.command_options import check_repeated_options, option_for
from facesynth_bench.cli.console import err_console
from facesynth_bench.cli.crash_reports import write_crash_report
from facesynth_bench.cli.demo import demo_command
from facesynth_bench.cli.embed import embed_command
from facesynth_bench.cli.evaluate import evaluate_app
from facesynth_bench.cli.generate import generate_command
from facesynth_bench.cli.listing import list_command
from facesynth_bench.cli.train_generator import train_generator_app
from facesynth_bench.errors import FsbenchError

app = typer.Typer(
    name="fsbench",
    help="Generate, score and benchmark synthetic identity-labelled face datasets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# In data-flow order (`fsbench --help` lists the command groups after the commands).
app.command("demo")(demo_command)
app.command("generate")(generate_command)
app.add_typer(train_generator_app, name="train-generator")
app.command("align")(align_command)
app.command("embed")(embed_command)
app.add_typer(evaluate_app, name="evaluate")
app.command("list")(list_command)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"fsbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Generate, score and benchmark synthetic identity-labelled face datasets."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `fsbench` console script; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    root = typer.main.get_command(app)
    try:
        check_repeated_options(root, args)
        app(args=args, prog_name="fsbench", standalone_mode=False)
    except FsbenchError as exc:
        option = option_for(root, args, exc.parameter) if exc.parameter else None
        where = f" (option {option})" if option else ""
        message = escape(f"{exc}{where}")
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("[bold red]aborted[/]")
        return 130
    except ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # the last resort: one line, the traceback in a file
        report = write_crash_report(exc, args)
        kind = "error" if isinstance(exc, OSError) else "internal error"
        where = f"; full traceback in {report}" if report else ""
        err_console.print(
            f"[bold red]{kind}:[/] {escape(f'{type(exc).__name__}: {exc}{where}')}",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
