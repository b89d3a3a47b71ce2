"""Health information encrypted at rest with `cryptography`'s MultiFernet.

Keys come from the environment (settings.HEALTH_DATA_KEYS, newest first): the first key encrypts, every key
decrypts, so a new key is put in front, `manage.py rotate_health_key` re-encrypts every stored value with it,
and then the old key is removed. Fernet authenticates as well as encrypts: a value changed in the database
fails to decrypt instead of reading as something else.

Development (DEBUG) and the tests may use DEV_KEY, a fixed key that is public (it is in this file) and so
protects nothing; production refuses to start reading or writing without real keys (and `check --deploy`
says so, see checks.py).
"""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

# Public and fixed: for DEBUG and tests only. Never protects real data.
DEV_KEY = "ZGV2ZWxvcG1lbnQtb25seS1oZWFsdGgta2V5LTAwMDA="

__all__ = ["InvalidToken", "decrypt_json", "encrypt_json", "keys", "rotate"]


def keys():
    """The configured keys, newest first; the development key only where settings allow it."""
    configured = [key for key in getattr(settings, "HEALTH_DATA_KEYS", []) if key]
    if configured:
        return configured
    if getattr(settings, "HEALTH_DATA_DEV_KEY_ALLOWED", False):
        return [DEV_KEY]
    raise ImproperlyConfigured(
        "HEALTH_DATA_KEYS is not set: health information cannot be encrypted or read. Set it to one or more "
        "Fernet keys, newest first (python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )


def _fernet():
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys()])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "HEALTH_DATA_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from exc


@sensitive_variables("value", "data")
def encrypt_json(value):
    """A JSON-serialisable value as an encrypted token (text), under the newest key."""
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return _fernet().encrypt(data).decode("ascii")


@sensitive_variables("data")
def decrypt_json(token):
    """The value inside a token written by encrypt_json (any configured key). Raises InvalidToken."""
    if not token:
        return None
    data = _fernet().decrypt(token.encode("ascii"))
    return json.loads(data)


def rotate(token):
    """The same value, encrypted again under the newest key (the token unchanged if it was empty)."""
    if not token:
        return token
    return _fernet().rotate(token.encode("ascii")).decode("ascii")
