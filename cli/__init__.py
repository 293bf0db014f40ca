"""The command-line layer: Typer commands, option parsing and rendering.
The only part of modelprof that prints."""
