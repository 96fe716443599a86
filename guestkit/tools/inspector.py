"""``guestkit inspect``: virt-inspector's job.  Inspects the guest and prints what it found
in virt-inspector's XML format (it validates against virt-inspector.rng), or the same
content as JSON with --json."""

import base64
import json
import sys

import guestkit
from .common import ToolError, guest_parser, open_guest, run_tool

PROG = "guestkit inspect"

#: the record's text fields, in the order virt-inspector writes them
FIELDS = (("name", "type"), ("arch", "arch"), ("distro", "distro"),
          ("product_name", "product_name"), ("product_variant", "product_variant"),
          ("major_version", "major_version"), ("minor_version", "minor_version"),
          ("package_format", "package_format"),
          ("package_management", "package_management"), ("hostname", "hostname"),
          ("build_id", "build_id"), ("osinfo", "osinfo"))
#: Windows elements, written after minor_version as virt-inspector does
WINDOWS_FIELDS = ("windows_systemroot", "windows_current_control_set")
#: application2 fields -> the element virt-inspector names them by (empty ones left out)
APP_FIELDS = (("name", "app2_name"), ("display_name", "app2_display_name"),
              ("epoch", "app2_epoch"), ("version", "app2_version"),
              ("release", "app2_release"), ("arch", "app2_arch"),
              ("install_path", "app2_install_path"), ("publisher", "app2_publisher"),
              ("url", "app2_url"), ("source_package", "app2_source_package"),
              ("summary", "app2_summary"), ("description", "app2_description"))


def describe(g, root, applications=True, icon=True):
    """What guestkit inspect says of ROOT: a dict in virt-inspector's vocabulary."""
    os_ = {"root": root}
    for tag, getter in FIELDS:
        value = getattr(g, "inspect_get_" + getter)(root)
        if value != "unknown":          # as virt-inspector, unknown values are left out
            os_[tag] = value
    if os_.get("name") == "windows":
        for tag in WINDOWS_FIELDS:
            try:
                os_[tag] = getattr(g, "inspect_get_" + tag)(root)
            except guestkit.Error:
                pass                    # not found in this guest's registry
        if g.inspect_get_windows_group_policy(root):
            os_["windows_group_policy"] = True
    mps = g.inspect_get_mountpoints(root)
    os_["mountpoints"] = [{"dev": dev, "mountpoint": mp}
                          for mp, dev in sorted(mps.items(), key=lambda m: (len(m[0]), m[0]))]
    os_["filesystems"] = [filesystem(g, dev) for dev in g.inspect_get_filesystems(root)]
    drives = g.inspect_get_drive_mappings(root)
    if drives:
        os_["drive_mappings"] = [{"name": k, "dev": v} for k, v in sorted(drives.items())]
    if applications:
        os_["applications"] = list_applications(g, root)
    if icon:
        png = g.inspect_get_icon(root, favicon=False, highquality=True)
        if png:
            os_["icon"] = base64.b64encode(png).decode()
    return os_


def list_applications(g, root):
    """ROOT's installed applications, each a dict of the APP_FIELDS it has (name always)."""
    return [{tag: a[f] for tag, f in APP_FIELDS if a[f] not in ("", 0) or tag == "name"}
            for a in g.inspect_list_applications2(root)]


def filesystem(g, dev):
    fs = {"dev": dev}
    for tag, call in (("type", g.vfs_type), ("label", g.vfs_label), ("uuid", g.vfs_uuid)):
        try:
            value = call(dev)
        except guestkit.Error:
            continue                    # a device the guest names that is not here
        if value:
            fs[tag] = value
    return fs


def to_xml(oses):
    """virt-inspector's document for the described operating systems."""
    from lxml import etree
    top = etree.Element("operatingsystems")
    for os_ in oses:
        e = etree.SubElement(top, "operatingsystem")
        etree.SubElement(e, "root").text = os_["root"]
        for tag, _ in FIELDS:
            if tag in os_:
                etree.SubElement(e, tag).text = str(os_[tag])
            if tag == "minor_version":
                for wtag in WINDOWS_FIELDS:
                    if wtag in os_:
                        etree.SubElement(e, wtag).text = os_[wtag]
                if os_.get("windows_group_policy"):
                    etree.SubElement(e, "windows_group_policy")
        mps = etree.SubElement(e, "mountpoints")
        for m in os_["mountpoints"]:
            etree.SubElement(mps, "mountpoint", dev=m["dev"]).text = m["mountpoint"]
        fss = etree.SubElement(e, "filesystems")
        for fs in os_["filesystems"]:
            f = etree.SubElement(fss, "filesystem", dev=fs["dev"])
            for tag in ("type", "label", "uuid"):
                if tag in fs:
                    etree.SubElement(f, tag).text = fs[tag]
        if "drive_mappings" in os_:
            dm = etree.SubElement(e, "drive_mappings")
            for d in os_["drive_mappings"]:
                etree.SubElement(dm, "drive_mapping", name=d["name"]).text = d["dev"]
        if "applications" in os_:
            apps = etree.SubElement(e, "applications")
            for a in os_["applications"]:
                ae = etree.SubElement(apps, "application")
                for tag, _ in APP_FIELDS:
                    if tag in a:
                        etree.SubElement(ae, tag).text = str(a[tag])
        if "icon" in os_:
            # base64 in lines of 72 characters, as virt-inspector writes it
            text = os_["icon"]
            etree.SubElement(e, "icon").text = "\n".join(
                text[i:i + 72] for i in range(0, len(text), 72))
    return etree.tostring(top, pretty_print=True, xml_declaration=True,
                          encoding="UTF-8").decode()


def xpath(query, stdin=None, stdout=None):
    """--xpath: run QUERY on the XML document on standard input, print the result (each
    node of a node set as XML, a string or number as it is), as virt-inspector does."""
    from lxml import etree
    stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        doc = etree.parse(stdin, parser)
        result = doc.xpath(query)
    except etree.XMLSyntaxError as e:
        raise ToolError("--xpath: the input is not an XML document: %s" % e) from None
    except etree.XPathError as e:
        raise ToolError("--xpath %r: %s" % (query, e)) from None
    if isinstance(result, list):
        for item in result:
            if isinstance(item, etree._Element):
                stdout.write(etree.tostring(item, encoding="unicode"))
                stdout.write("\n")
            else:
                stdout.write("%s\n" % item)
    elif isinstance(result, float) and result.is_integer():
        stdout.write("%d\n" % result)
    else:
        stdout.write("%s\n" % result)
    return 0


def inspect(argv):
    ap = guest_parser(PROG, "inspect a guest and describe its operating systems, as "
                            "virt-inspector does (XML), or as JSON")
    ap.add_argument("--json", action="store_true", help="print JSON instead of XML")
    ap.add_argument("--xpath", metavar="QUERY",
                    help="only run the XPath QUERY on the XML document read from standard "
                         "input (the output of an earlier run) and print the result")
    ap.add_argument("--no-applications", action="store_true",
                    help="leave out the installed applications")
    ap.add_argument("--no-icon", action="store_true", help="leave out the icon")
    ns = ap.parse_args(argv)
    if ns.xpath is not None:
        return xpath(ns.xpath)
    g = open_guest(ns)
    try:
        roots = g.inspect_os()
        if not roots:
            raise ToolError("no operating system could be detected inside this disk image")
        oses = [describe(g, r, not ns.no_applications, not ns.no_icon) for r in roots]
    finally:
        g.close()
    if ns.json:
        json.dump({"operatingsystems": oses}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_xml(oses))
    return 0


def main(argv):
    return run_tool(PROG, inspect, argv)
