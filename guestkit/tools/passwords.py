"""Passwords for customize and sysprep: the selectors of virt-customize's --root-password
and --password (password:PASS, file:FILE, random, disabled, locked...), crypt hashes
(SHA-512 unless --password-crypto says md5 or sha256) made on the host, and the guest's /etc/shadow changed line by line."""

import secrets
import shutil
import string
import subprocess

from .common import ToolError

RANDOM_LENGTH = 16
#: --password-crypto's methods -> their crypt(3) prefix id
METHODS = {"md5": "1", "sha256": "5", "sha512": "6"}
_ALPHABET = string.ascii_letters + string.digits


def parse_selector(text):
    """SELECTOR -> (kind, value, locked): kind is password, random or disabled; a
    locked: prefix (or the word locked alone) locks the account as well."""
    locked = False
    if text == "locked":
        return "disabled", None, True
    if text.startswith("locked:"):
        locked, text = True, text[len("locked:"):]
    kind, sep, value = text.partition(":")
    if kind == "password" and sep:
        return "password", value, locked
    if kind == "file" and sep:
        try:
            with open(value, encoding="utf-8") as f:
                line = f.readline().rstrip("\n")
        except OSError as e:
            raise ToolError("password file %s: %s" % (value, e.strerror)) from None
        return "password", line, locked
    if kind == "random" and not sep:
        return "random", "".join(secrets.choice(_ALPHABET)
                                 for _ in range(RANDOM_LENGTH)), locked
    if kind == "disabled" and not sep:
        return "disabled", None, locked
    raise ToolError("password selector %r: expected password:PASS, file:FILE, random, "
                    "disabled or locked[:...]" % text)


def crypt_hash(password, method="sha512"):
    """A crypt(3) hash of PASSWORD by METHOD (md5, sha256, sha512) with a random salt,
    made on the host."""
    ident = "$%s$" % METHODS[method]
    salt = "".join(secrets.choice(_ALPHABET + "./") for _ in range(8 if method == "md5"
                                                                   else 16))
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        result = crypt.crypt(password, ident + salt)
        if result and result.startswith(ident):
            return result
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ToolError("cannot hash passwords: neither Python's crypt module nor openssl "
                        "is available")
    r = subprocess.run([openssl, "passwd", "-" + METHODS[method], "-salt", salt, "-stdin"],
                       input=password + "\n", capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.startswith(ident):
        raise ToolError("openssl passwd: %s" % r.stderr.strip())
    return r.stdout.strip()


def set_shadow(shadow, user, selector, method="sha512"):
    """SHADOW (the file's text) with USER's password field set as SELECTOR says, hashed
    by METHOD."""
    kind, value, locked = selector
    if kind == "disabled":
        field = "*"
    else:
        field = crypt_hash(value, method)
    if locked:
        field = "!" + field
    lines = shadow.split("\n")
    for i, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == user and len(fields) >= 2:
            fields[1] = field
            lines[i] = ":".join(fields)
            return "\n".join(lines)
    raise ToolError("user %s is not in the guest's /etc/shadow" % user)
