"""The host tools the daemon drives, and the data files and libraries they need."""

import glob
import os
import shutil

SEARCH = "/usr/sbin:/usr/bin:/sbin:/bin"

TOOLS = """
sh dash bash mount umount blkid findfs losetup blockdev wipefs fstrim blkdiscard
sfdisk fdisk parted partprobe sgdisk gdisk
mkfs mke2fs mkfs.ext2 mkfs.ext3 mkfs.ext4 e2fsck fsck fsck.ext2 fsck.ext3 fsck.ext4 tune2fs
resize2fs dumpe2fs e2label debugfs e4defrag filefrag chattr lsattr zerofree
mkfs.xfs xfs_repair xfs_growfs xfs_admin xfs_info xfs_db xfs_io
mkfs.btrfs btrfs btrfstune fsck.btrfs
mkfs.vfat mkfs.fat mkfs.msdos fsck.vfat fsck.fat fatlabel mkdosfs
mkfs.ntfs mkntfs ntfs-3g mount.ntfs mount.ntfs-3g ntfsresize ntfslabel ntfsinfo ntfsclone ntfsfix
mkswap swapon swapoff swaplabel
lvm pvcreate pvremove pvresize pvs pvscan pvdisplay pvchange vgcreate vgremove vgs vgscan
vgchange vgrename vgdisplay vgextend vgreduce lvcreate lvremove lvrename lvresize lvextend
lvreduce lvs lvscan lvdisplay lvchange vgimportclone dmsetup
cryptsetup mdadm
modprobe insmod rmmod lsmod kmod depmod
ls cp mv rm ln mkdir rmdir cat cksum md5sum sha1sum sha224sum sha256sum sha384sum sha512sum
b2sum df du tar cpio gzip gunzip zcat xz unxz xzcat zstd bzip2 bunzip2 lzop lz4 file
getfacl setfacl getfattr setfattr getcap setcap rsync chroot sed grep egrep fgrep zgrep
head tail wc strings hexdump od stat touch truncate fallocate dd find sort uniq base64
chmod chown chgrp readlink realpath sync env mknod mkfifo tr cut sleep uname id printf
test expr basename dirname mktemp tee xargs awk mawk diff cmp
zerofree lz4 unlz4 lzcat zstdcat pzstd xxd column look
xfs_spaceman findmnt fsck.xfs
icat blkls fls istat compress uncompress
mklost+found ils ifind scrub mksquashfs unsquashfs extlinux syslinux mcopy mattrib mmove
grub-install grub-probe grub-mkimage grub-editenv mkfs.f2fs resize.f2fs fsck.f2fs
clevis
setfiles yara yarac
dmesg
stty ps free kill less clear lsblk
btrfs-image ntfscat ntfs-3g.probe ldmtool
""".split()

# data files some tools read at run time
DATA = [
    "/etc/mke2fs.conf", "/etc/e2scrub.conf", "/usr/share/misc/magic.mgc",
    "/usr/share/file/magic.mgc", "/usr/lib/file/magic.mgc", "/etc/ld.so.cache",
    "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf",
]

# libraries loaded with dlopen, which ldd cannot see
EXTRA_LIB_GLOBS = [
    "/lib/x86_64-linux-gnu/libgcc_s.so.1",
    "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
    "/lib/x86_64-linux-gnu/libnss_files.so.2",
    "/usr/lib/x86_64-linux-gnu/device-mapper/*.so",
    "/usr/lib/x86_64-linux-gnu/libdevmapper-event*.so*",
    "/usr/lib/x86_64-linux-gnu/libhivex.so.0*",      # daemon/hivex.py, through ctypes
    # libhivex converts names and strings with iconv (LATIN1, UTF-16LE): glibc's gconv
    # modules for those, and their configuration
    "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules*",
    "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/*.conf",
    "/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so",
    "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so",
    "/usr/lib/grub/i386-pc/*",                       # grub-install's BIOS images, modules
    "/usr/lib/x86_64-linux-gnu/gconv/IBM850.so",     # mtools (syslinux): its code page
    "/usr/lib/x86_64-linux-gnu/libaugeas.so.0*",     # daemon/augeas.py, through ctypes
    "/usr/lib/x86_64-linux-gnu/libsystemd.so.0*",    # daemon/journal.py, through ctypes
]

# whole directories of data files (every regular file under them)
DATA_DIRS = [
    "/usr/share/augeas/lenses",                      # libaugeas's standard lenses
    "/lib/terminfo",                                 # guestkit rescue: the shell's terminal
]


def find_tools():
    out = []
    seen = set()
    for t in TOOLS:
        p = shutil.which(t, path=SEARCH)
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    return out


def missing_tools():
    return [t for t in TOOLS if not shutil.which(t, path=SEARCH)]


def find_data_files():
    out = [p for p in DATA if os.path.exists(p)]
    for d in DATA_DIRS:
        for top, dirs, files in os.walk(d):
            dirs.sort()
            out += [os.path.join(top, f) for f in sorted(files)
                    if os.path.isfile(os.path.join(top, f))]
    return out


def find_extra_libs():
    out = []
    for g in EXTRA_LIB_GLOBS:
        out += [p for p in glob.glob(g) if os.path.isfile(p)]
    return out
