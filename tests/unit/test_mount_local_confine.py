"""confine(): the symlink text mount_local gives the kernel never leads out of the mount."""

import posixpath

import pytest

from guestkit.library.mount_local import confine

CASES = [
    # (link's path in the mount, guest target, text given to the kernel)
    ("/etc/pw", "/etc/passwd", "../etc/passwd"),
    ("/pw", "/etc/passwd", "etc/passwd"),
    ("/a/b/c/l", "/", "../../.."),
    ("/l", "/", "."),
    ("/etc/rel", "hostname", "hostname"),               # plain relative: unchanged
    ("/usr/lib/x.so", "../lib64/x.so", "../lib64/x.so"),  # climbs, but not above the root
    ("/a/b/up", "../../../../etc/passwd", "../../etc/passwd"),
    ("/a/l", "x/../../../etc", "../etc"),               # .. after a name: normalised
    ("/a/l", "/etc/../../..//etc/./x/", "../etc/x/"),
    ("/a/l", "", ""),
]


@pytest.mark.parametrize("link,target,text", CASES)
def test_confine(link, target, text):
    assert confine(link, target) == text


@pytest.mark.parametrize("link,target,_", CASES)
def test_never_above_the_root(link, target, _):
    """Resolved lexically from the link's directory, the text stays at or below /."""
    text = confine(link, target)
    if not text:
        return
    assert not text.startswith("/")
    depth = len([p for p in posixpath.dirname(link).split("/") if p])
    for part in text.split("/"):
        if part == "..":
            depth -= 1
        elif part not in ("", "."):
            depth += 1
        assert depth >= 0
