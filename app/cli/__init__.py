"""The ``trent`` command.

Server-side commands (``init``, ``migrate``, ``serve``, ``token issue``, the
audit commands, ``root-key migrate``) read the same ``TRENT_*`` settings as
the server; client commands (``keys``, ``encrypt``, ``decrypt``, ``sign``,
``verify``, ``mac``, ``public-key``, ``aliases``, ``rotation``,
``key-policy``, ``tags``, ``identity-policy``, ``grants``, ``key-stores``,
``access-key``, ``whoami``) call a running server (``TRENT_URL``,
``TRENT_TOKEN``) through :mod:`app.cli.rest_client`; ``policy`` and
``key-stores clusters`` work offline. Every command has ``--help``, prints
what it did, and exits non-zero on failure with a one-line reason on stderr.

One module per command or group; this package is the only place that imports
``click`` for the service, and nothing outside it imports it (an import
contract says so).
"""

from __future__ import annotations

import importlib

import click

#: The modules that add commands to ``trent``. Each names the commands it adds
#: in its ``COMMANDS`` tuple, so a new command module is one more line here.
COMMAND_MODULES = (
    "app.cli.init",
    "app.cli.serve",
    "app.cli.audit_processes",
    "app.cli.token",
    "app.cli.audit",
    "app.cli.backup",
    "app.cli.restore",
    "app.cli.policy",
    "app.cli.access_keys",
    "app.cli.keys",
    "app.cli.aliases",
    "app.cli.rotation",
    "app.cli.key_policy",
    "app.cli.tags",
    "app.cli.identity_policy",
    "app.cli.whoami",
    "app.cli.grants",
    "app.cli.key_stores",
    "app.cli.signing",
    "app.cli.root_key",
    "app.cli.console",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trent")
def main() -> None:
    """Trent: a self-hosted key management service modelled on AWS KMS."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        for command in importlib.import_module(name).COMMANDS:
            main.add_command(command)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
