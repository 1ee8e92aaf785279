"""The options of the command a command line selects: repeated ones refused, names looked up."""

from __future__ import annotations

from typer.core import TyperCommand, TyperGroup, TyperOption

from facesynth_bench.cli.click_compat import UsageError


def selected_command(
    root: TyperGroup, args: list[str]
) -> tuple[TyperCommand | TyperGroup, list[str]]:
    """The (sub)command `args` select and the arguments after its name."""
    command, rest = root, args
    while isinstance(command, TyperGroup) and rest and rest[0] in command.commands:
        command, rest = command.commands[rest[0]], rest[1:]
    return command, rest


def option_for(root: TyperGroup, args: list[str], parameter: str) -> str | None:
    """The command-line option that sets library `parameter` in the selected command."""
    command, _ = selected_command(root, args)
    for param in command.params:
        if isinstance(param, TyperOption) and param.name == parameter:
            return param.opts[0]
    return None


def check_repeated_options(root: TyperGroup, args: list[str]) -> None:
    """Raise a UsageError when a single-valued option of the chosen command occurs twice."""
    command, rest = selected_command(root, args)
    owners: dict[str, TyperOption] = {}
    for param in command.params:
        if isinstance(param, TyperOption) and not param.multiple and not param.count:
            owners.update((name, param) for name in (*param.opts, *param.secondary_opts))
    seen: dict[str, str] = {}
    for token in rest:
        if token == "--":
            break
        name = token.split("=", 1)[0]
        param = owners.get(name)
        if param is None:
            continue
        if param.name in seen:
            raise UsageError(
                f"option {seen[param.name]} is given twice (also as {name}); give it once"
            )
        seen[param.name] = name
