"""A Windows-layout guest made for the inspection tests: NTFS volumes laid out as Windows
lays them out, with SOFTWARE and SYSTEM hives written through guestkit's own hivex_* write
path, starting from the blank hive of tests/hive_image.py.

Disk 1 (MBR): partition 1 "System Reserved" (NTFS), partition 2 the system volume C:
(/Windows/System32/{cmd.exe,config/SOFTWARE,config/SYSTEM}, /Program Files, /Users).
Disk 2 (GPT): one NTFS data volume, drive E:.
The SYSTEM hive's MountedDevices names C: by disk 1's MBR signature and the partition's byte
offset, E: by its GPT partition GUID, D: as an optical drive (left out of the mappings).
"""

import struct
import uuid

from tests.hive_image import blank_hive

REG_SZ, REG_BINARY, REG_DWORD = 1, 3, 4
HOSTNAME = "WIN-GK01"
SYS_START, SYS_END = 34816, -1            # C: on disk 1 (sectors)
APPS = [  # (key, DisplayName, DisplayVersion, Publisher, InstallLocation, URL, Comments)
    ("7-Zip", "7-Zip 23.01 (x64)", "23.01", "Igor Pavlov", "C:\\Program Files\\7-Zip\\",
     "https://www.7-zip.org/", ""),
    ("Mozilla Firefox 120.0 (x64 en-US)", "Mozilla Firefox (x64 en-US)", "120.0",
     "Mozilla", "C:\\Program Files\\Mozilla Firefox", "https://www.mozilla.org",
     "Mozilla Firefox 120.0 (x64 en-US)"),
]
WOW_APPS = [("Notepad++", "Notepad++ (32-bit x86)", "8.6", "Notepad++ Team",
             "C:\\Program Files (x86)\\Notepad++", "", "")]


def sz(text):
    return (text + "\0").encode("utf-16-le")


def dword(n):
    return struct.pack("<I", n)


def pe_header(machine=0x8664):
    """The first bytes of a PE32+ console executable for MACHINE (what file(1) and
    libguestfs's file_architecture recognise)."""
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", machine, 1, 0, 0, 0, 0xF0, 0x22)
    opt = bytearray(0xF0)
    struct.pack_into("<H", opt, 0, 0x20B)          # PE32+
    struct.pack_into("<H", opt, 68, 3)             # subsystem: console
    section = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x200, 0x200, 0, 0,
                          0, 0, 0x60000020)
    data = bytes(dos) + coff + bytes(opt) + section
    return data + b"\0" * (0x400 - len(data))


def write_hive(g, path, tree, root_name="ROOT"):
    """Make the hive at guest PATH hold TREE: {(key, path, ...): {value: (type, bytes)}}."""
    g.write(path, blank_hive(root_name))
    g.hivex_open(path, write=True)
    root = g.hivex_root()
    for keys, values in tree.items():
        node = root
        for name in keys:
            node = g.hivex_node_get_child(node, name) or g.hivex_node_add_child(node, name)
        for key, (t, val) in values.items():
            g.hivex_node_set_value(node, key, t, val)
    g.hivex_commit(None)
    g.hivex_close()


def software_tree():
    cv = ("Microsoft", "Windows NT", "CurrentVersion")
    tree = {cv: {"ProductName": (REG_SZ, sz("Windows 10 Pro")),
                 "CurrentVersion": (REG_SZ, sz("6.3")),
                 "CurrentMajorVersionNumber": (REG_DWORD, dword(10)),
                 "CurrentMinorVersionNumber": (REG_DWORD, dword(0)),
                 "CurrentBuildNumber": (REG_SZ, sz("19045")),
                 "CurrentBuild": (REG_SZ, sz("19045")),
                 "InstallationType": (REG_SZ, sz("Client")),
                 "EditionID": (REG_SZ, sz("Professional"))}}
    for prefix, apps in (((), APPS), (("WOW6432Node",), WOW_APPS)):
        base = prefix + ("Microsoft", "Windows", "CurrentVersion", "Uninstall")
        for key, name, version, publisher, location, url, comments in apps:
            values = {"DisplayName": (REG_SZ, sz(name)),
                      "DisplayVersion": (REG_SZ, sz(version)),
                      "Publisher": (REG_SZ, sz(publisher)),
                      "InstallLocation": (REG_SZ, sz(location)),
                      "UninstallString": (REG_SZ, sz(location + "\\uninstall.exe"))}
            if url:
                values["URLInfoAbout"] = (REG_SZ, sz(url))
            if comments:
                values["Comments"] = (REG_SZ, sz(comments))
            tree[base + (key,)] = values
        # an Uninstall entry without DisplayName is not an application
        tree[base + ("KB5005463",)] = {"UninstallString": (REG_SZ, sz("wusa.exe"))}
    gpo = ("Microsoft", "Windows", "CurrentVersion", "Group Policy", "History",
           "{31B2F340-016D-11D2-945F-00C04FB984F9}", "0")
    tree[gpo] = {"DisplayName": (REG_SZ, sz("Default Domain Policy"))}
    return tree


def system_tree(mbr_signature, c_offset, e_guid):
    cdrom = sz("\\??\\IDE#CdRomQEMU_QEMU_DVD-ROM_2.5+#5&1b9e4a8&0&1.0.0#"
               "{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}")
    c_blob = struct.pack("<IQ", mbr_signature, c_offset)
    e_blob = b"DMIO:ID:" + uuid.UUID(e_guid).bytes_le
    return {
        ("Select",): {"Current": (REG_DWORD, dword(1)), "Default": (REG_DWORD, dword(1)),
                      "LastKnownGood": (REG_DWORD, dword(2))},
        ("ControlSet001", "Services", "Tcpip", "Parameters"): {
            "Hostname": (REG_SZ, sz(HOSTNAME)), "Domain": (REG_SZ, sz(""))},
        ("ControlSet001", "Control", "ComputerName", "ComputerName"): {
            "ComputerName": (REG_SZ, sz(HOSTNAME))},
        ("MountedDevices",): {
            "\\DosDevices\\C:": (REG_BINARY, c_blob),
            "\\DosDevices\\D:": (REG_BINARY, cdrom),
            "\\DosDevices\\E:": (REG_BINARY, e_blob),
            "\\??\\Volume{0b1cda51-1e3c-11ee-a9c8-806e6f6e6963}": (REG_BINARY, c_blob)},
    }


def build_windows(g, disk1="/dev/sda", disk2="/dev/sdb"):
    """Lay the Windows guest out on the two blank disks of launched handle G."""
    g.part_init(disk1, "mbr")
    g.part_add(disk1, "p", 2048, SYS_START - 1)
    g.part_add(disk1, "p", SYS_START, SYS_END)
    g.part_set_bootable(disk1, 1, True)
    g.part_init(disk2, "gpt")
    g.part_add(disk2, "p", 2048, -2048)
    g.mkfs("ntfs", disk1 + "1", label="System Reserved")
    g.mkfs("ntfs", disk1 + "2")
    g.mkfs("ntfs", disk2 + "1", label="Data")
    signature = struct.unpack("<I", g.pread_device(disk1, 4, 0x1B8))[0]
    e_guid = g.part_get_gpt_guid(disk2, 1)
    g.mount(disk1 + "2", "/")
    for d in ("/Windows/System32/config", "/Program Files/7-Zip", "/Users/Public",
              "/Program Files (x86)"):
        g.mkdir_p(d)
    g.write("/Windows/System32/cmd.exe", pe_header())
    write_hive(g, "/Windows/System32/config/SOFTWARE", software_tree())
    write_hive(g, "/Windows/System32/config/SYSTEM",
               system_tree(signature, SYS_START * 512, e_guid))
    g.umount_all()
    g.mount(disk2 + "1", "/")
    g.mkdir_p("/Program Files/Data")
    g.umount_all()
    return {"signature": signature, "e_guid": e_guid}
