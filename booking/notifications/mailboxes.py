"""One key per mailbox, for the cap on open requests per email address.

People (and scripts) vary an address without changing where the mail goes: upper case, a "+tag", and
for Gmail dots in the name. The cap counts by the folded key, so those variants share one count.
"""

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
