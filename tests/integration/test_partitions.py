"""The part_* family and blockdev_* on a real appliance (MBR and GPT)."""

import pytest

import guestkit

LINUX_FS = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GUID = "01234567-89AB-CDEF-0123-456789ABCDEF"


@pytest.fixture(scope="module")
def g():
    h = guestkit.GuestFS(python_return_dict=True)
    h.add_drive_scratch(256 << 20)
    h.add_drive_scratch(128 << 20)
    h.launch()
    yield h
    h.close()


def test_mbr_family(g):
    d = "/dev/sda"
    g.part_init(d, "mbr")
    g.part_add(d, "p", 2048, 204799)
    g.part_add(d, "e", 204800, -1)
    g.part_add(d, "l", 206848, 300000)
    assert [p["part_num"] for p in g.part_list(d)] == [1, 2, 5]
    assert g.part_get_mbr_part_type(d, 1) == "primary"
    assert g.part_get_mbr_part_type(d, 2) == "extended"
    assert g.part_get_mbr_part_type(d, 5) == "logical"
    assert g.part_get_mbr_id(d, 1) == 0x83
    g.part_set_mbr_id(d, 1, 0x07)
    assert g.part_get_mbr_id(d, 1) == 0x07
    assert g.part_get_bootable(d, 1) == 0
    g.part_set_bootable(d, 1, True)
    assert g.part_get_bootable(d, 1) == 1
    g.part_resize(d, 1, 100000)
    assert g.part_list(d)[0]["part_end"] == 100000 * 512 + 511
    g.part_del(d, 2)                            # the logical one goes with it
    assert [p["part_num"] for p in g.part_list(d)] == [1]
    assert g.list_partitions()[:1] == ["/dev/sda1"]
    assert g.part_to_dev("/dev/sda1") == "/dev/sda"
    assert g.part_to_partnum("/dev/sda1") == 1
    with pytest.raises(guestkit.Error):
        g.part_to_dev("/dev/sda")
    with pytest.raises(guestkit.Error):
        g.part_get_gpt_type(d, 1)               # not GPT
    assert "sda1" in g.sfdisk_l(d)


def test_gpt_family(g):
    d = "/dev/sdb"
    g.part_init(d, "gpt")
    g.part_add(d, "p", 2048, 65535)
    g.part_add(d, "p", 65536, -34)
    assert g.part_get_parttype(d) == "gpt"
    g.part_set_gpt_type(d, 1, ESP)
    assert g.part_get_gpt_type(d, 1) == ESP
    g.part_set_gpt_guid(d, 2, GUID)
    assert g.part_get_gpt_guid(d, 2) == GUID
    g.part_set_gpt_attributes(d, 1, (1 << 60) | 1)
    assert g.part_get_gpt_attributes(d, 1) == (1 << 60) | 1
    g.part_set_name(d, 2, "data")
    assert g.part_get_name(d, 2) == "data"
    g.part_set_disk_guid(d, GUID)
    assert g.part_get_disk_guid(d) == GUID
    g.part_set_disk_guid_random(d)
    assert g.part_get_disk_guid(d) != GUID
    g.part_expand_gpt(d)
    with pytest.raises(guestkit.Error):
        g.part_set_gpt_type(d, 1, "not-a-guid")
    with pytest.raises(guestkit.Error):
        g.part_set_mbr_id(d, 1, 0x83)           # not MBR


def test_blockdev(g):
    assert g.blockdev_getsz("/dev/sdb") == (128 << 20) // 512
    assert g.blockdev_getbsz("/dev/sdb") in (512, 1024, 4096)
    g.blockdev_setro("/dev/sdb")
    assert g.blockdev_getro("/dev/sdb") == 1
    g.blockdev_setrw("/dev/sdb")
    assert g.blockdev_getro("/dev/sdb") == 0
    g.blockdev_setra("/dev/sdb", 1024)
    assert g.blockdev_getra("/dev/sdb") == 1024
    g.blockdev_setbsz("/dev/sdb", 4096)         # deprecated no-op


def test_user_cancel_stops_a_long_call_without_a_stream(g):
    def cb(ev, eh, buf, arr):
        g.user_cancel()
    eh = g.set_event_callback(cb, guestkit.EVENT_PROGRESS)
    try:
        with pytest.raises(guestkit.Error) as e:
            g.zero_device("/dev/sda")
        assert e.value.errno_name == "EINTR"
    finally:
        g.delete_event_callback(eh)
    assert g.blockdev_getsize64("/dev/sda") == 256 << 20      # still usable
