"""The ``trent`` command.

Server-side commands (``init``, ``migrate``, ``serve``, ``token issue``, the
audit commands) read the same ``TRENT_*`` settings as the server; client
commands (``keys``, ``encrypt``, ``decrypt``, ``sign``, ``verify``, ``mac``,
``public-key``, ``access-key``) call a running
server (``TRENT_URL``, ``TRENT_TOKEN``). Every command has ``--help`` and exits
non-zero on failure with a one-line reason on stderr.

One module per command or group; this package is the only place that imports
``click`` for the service, and nothing outside it imports it (an import
contract says so).
"""

from __future__ import annotations

import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trent")
def main() -> None:
    """Trent: a self-hosted key management service modelled on AWS KMS."""


@main.command(
    "policy",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def policy(args: tuple[str, ...]) -> None:
    """Validate, lint, simulate and test key policies offline (see `trent policy --help`)."""
    from policies.cli import main as policy_main

    sys.exit(policy_main(list(args)))


def _register_commands() -> None:
    from app.cli.access_keys import access_key
    from app.cli.audit import audit
    from app.cli.audit_processes import audit_checkpointer, audit_writer
    from app.cli.init import init, migrate
    from app.cli.keys import decrypt, encrypt, keys
    from app.cli.serve import serve
    from app.cli.signing import mac, public_key, sign, verify
    from app.cli.token import token

    for command in (
        init,
        migrate,
        serve,
        audit_checkpointer,
        audit_writer,
        token,
        audit,
        access_key,
        keys,
        encrypt,
        decrypt,
        sign,
        verify,
        mac,
        public_key,
    ):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
