"""What a peer's X.509 certificate is for, and its fingerprint (standard library only).

The ssl module checks a certificate's chain and name but reports nothing of its
extendedKeyUsage, so a certificate the CA issued to a client would pass as a server's.  The
remote mode needs each side to be what it claims: this module reads the extension from the
certificate's DER bytes (a certificate that already passed verification, but parsed with
bounds all the same).
"""

import hashlib

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
_EKU = bytes([0x55, 0x1d, 0x25])            # 2.5.29.37, extendedKeyUsage

PURPOSE_NAMES = {SERVER_AUTH: "serverAuth", CLIENT_AUTH: "clientAuth"}


class CertError(ValueError):
    pass


def _tlv(buf, pos, end):
    """(tag, start of the content, end of the content) of the DER element at POS."""
    if pos + 2 > end:
        raise CertError("truncated certificate")
    tag, n = buf[pos], buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7f
        if not 1 <= k <= 4 or pos + k > end:
            raise CertError("bad length in certificate")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise CertError("truncated certificate")
    return tag, pos, pos + n


def _children(buf, start, end):
    pos = start
    while pos < end:
        tag, s, e = _tlv(buf, pos, end)
        yield tag, s, e
        pos = e


def _oid(raw):
    if not raw:
        raise CertError("empty object identifier")
    first = raw[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    val = 0
    for b in raw[1:]:
        val = (val << 7) | (b & 0x7f)
        if not b & 0x80:
            parts.append(val)
            val = 0
    return ".".join(str(p) for p in parts)


def key_usages(der):
    """The extendedKeyUsage purposes (dotted OIDs) of the DER certificate, or None when it
    has no such extension."""
    der = bytes(der)
    tag, s, e = _tlv(der, 0, len(der))                  # Certificate
    tag, s, e = _tlv(der, s, e)                         # tbsCertificate
    if tag != 0x30:
        raise CertError("not a certificate")
    for tag, cs, ce in _children(der, s, e):
        if tag != 0xa3:                                 # [3] extensions
            continue
        _, xs, xe = _tlv(der, cs, ce)
        for _, es, ee in _children(der, xs, xe):        # each Extension
            parts = list(_children(der, es, ee))
            if not parts or parts[0][0] != 0x06 or der[parts[0][1]:parts[0][2]] != _EKU:
                continue
            _, vs, ve = parts[-1]                       # extnValue, an OCTET STRING
            _, ls, le = _tlv(der, vs, ve)               # SEQUENCE OF KeyPurposeId
            return {_oid(der[os_:oe]) for t, os_, oe in _children(der, ls, le) if t == 0x06}
    return None


def check_purpose(der, purpose, who):
    """Raise CertError unless the DER certificate is marked for PURPOSE (SERVER_AUTH or
    CLIENT_AUTH); WHO names the peer in the message."""
    usages = key_usages(der)
    name = PURPOSE_NAMES[purpose]
    if usages is None:
        raise CertError("%s's certificate says nothing of what it is for: guestkit needs "
                        "extendedKeyUsage %s in it" % (who, name))
    if purpose not in usages:
        raise CertError("%s's certificate is not made for this (its extendedKeyUsage lacks "
                        "%s)" % (who, name))


def fingerprint(der):
    return hashlib.sha256(bytes(der)).hexdigest()


def parse_pin(text):
    """The hex SHA-256 digest in 'sha256:AB:CD...' / 'AB CD ...' / 'abcd...' form."""
    t = text.strip().lower()
    if t.startswith("sha256:") or t.startswith("sha256="):
        t = t[7:]
    t = t.replace(":", "").replace(" ", "")
    if len(t) != 64 or any(c not in "0123456789abcdef" for c in t):
        raise CertError("a pinned fingerprint is the certificate's SHA-256 digest in hex "
                        "(64 digits), got %r" % text)
    return t
