"""`torale login`, `whoami`, `tasks`, `keys`, `webhooks` and `admin`: the REST API from a
terminal, through the Python client (`torale.client`), never through server code.

One module per command group; `common` holds what they all use.

Exit codes: 0 done, 1 the API (or the network) refused, 2 a usage or configuration
mistake. Errors are one line on stderr.
"""

from __future__ import annotations

from torale.client_cli.commands import account, admin, keys, tasks, webhooks

COMMANDS = (account.login, account.whoami, tasks.group, keys.group, webhooks.group, admin.group)
