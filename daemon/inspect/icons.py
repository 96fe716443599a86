"""Where distributions keep the logo that inspect_get_icon returns (PNG files only; the
first one present wins).  Guests of other distributions have no icon here."""

#: distro -> candidate icon paths, best first
ICONS = {
    "debian": ("/usr/share/pixmaps/debian-logo.png",),
    "fedora": ("/usr/share/icons/hicolor/48x48/apps/fedora-logo-icon.png",),
    "ubuntu": ("/usr/share/icons/hicolor/48x48/apps/ubuntu-logo-icon.png",
               "/usr/share/icons/gnome/24x24/places/ubuntu-logo.png"),
    "mageia": ("/usr/share/icons/mageia.png",),
    "opensuse": ("/usr/share/icons/hicolor/48x48/apps/distributor.png",),
    "sles": ("/usr/share/icons/hicolor/48x48/apps/distributor.png",),
}
#: distro -> small (16x16) icons, for favicon=true
FAVICONS = {
    "fedora": ("/usr/share/icons/hicolor/16x16/apps/fedora-logo-icon.png",),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_ICON_BYTES = 1 << 20


def candidates(distro, favicon=False):
    return (FAVICONS if favicon else ICONS).get(distro, ())


def is_png(data):
    return isinstance(data, (bytes, bytearray)) and data[:8] == PNG_SIGNATURE
