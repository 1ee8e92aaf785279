"""Click's exception types as typer uses them: vendored as `typer._click` since typer 0.22."""

try:
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # typer versions that run on click itself
    from click.exceptions import ClickException, UsageError

__all__ = ["ClickException", "UsageError"]
