"""One key per mailbox, for the cap on open requests per email address.

People (and scripts) vary an address without changing where the mail goes: upper case, a "+tag", and
for Gmail dots in the name. The cap counts by the folded key, so those variants share one count.
"""

import hashlib

from django.db import connection

# Providers that deliver "a.b.c@" to "abc@" (and googlemail.com is the same mailbox as gmail.com).
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalise_email(address):
    local, _at, domain = str(address).strip().lower().rpartition("@")
    if not local:
        return str(address).strip().lower()
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def lock_address(email_key):
    """Serialise booking transactions for one mailbox until the current transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed on the address. SQLite: every write transaction
    is IMMEDIATE (see settings), so it already holds the database's write lock; nothing more to do.
    """
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(email_key.encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
