"""libvirt's domain XML, declared once for reading and writing.

Each element guestkit reads or writes is a small class of XPath-bound fields (the model of
guestkit.xmlmodel, after virt-manager's virtinst), and each XPath is declared here only:
add_domain reads a guest's disks and seclabels through these classes
(guestkit/library/add_domain.py), and the libvirt backend writes the appliance's domain
with the very same ones (backends/libvirt.py).
"""

from .xmlmodel import XMLChild, XMLChildren, XMLObject, XMLProperty


# ---- <disk> -----------------------------------------------------------------------------------

class Host(XMLObject):
    """<host> in a network disk's <source>: a TCP server or a unix socket."""
    ROOT = "host"
    name = XMLProperty("./@name")
    port = XMLProperty("./@port", is_int=True)
    transport = XMLProperty("./@transport")
    socket = XMLProperty("./@socket")


class DiskSource(XMLObject):
    """A disk's <source>: a file, a block device, a storage volume or a network export."""
    ROOT = "source"
    file = XMLProperty("./@file")
    dev = XMLProperty("./@dev")
    protocol = XMLProperty("./@protocol")
    name = XMLProperty("./@name")
    pool = XMLProperty("./@pool")
    volume = XMLProperty("./@volume")
    hosts = XMLChildren(Host)


class Disk(XMLObject):
    ROOT = "disk"
    type = XMLProperty("./@type")
    device = XMLProperty("./@device")
    driver_name = XMLProperty("./driver/@name")
    driver_type = XMLProperty("./driver/@type")
    driver_cache = XMLProperty("./driver/@cache")
    driver_discard = XMLProperty("./driver/@discard")
    driver_copy_on_read = XMLProperty("./driver/@copy_on_read")
    source = XMLChild(DiskSource)
    readonly = XMLProperty("./readonly", is_bool=True)
    shareable = XMLProperty("./shareable", is_bool=True)
    target_dev = XMLProperty("./target/@dev")
    target_bus = XMLProperty("./target/@bus")
    auth_username = XMLProperty("./auth/@username")
    secret_type = XMLProperty("./auth/secret/@type")
    secret_usage = XMLProperty("./auth/secret/@usage")
    secret_uuid = XMLProperty("./auth/secret/@uuid")
    address_type = XMLProperty("./address/@type")
    address_controller = XMLProperty("./address/@controller")
    address_bus = XMLProperty("./address/@bus")
    address_target = XMLProperty("./address/@target")
    address_unit = XMLProperty("./address/@unit")
    blockio_logical = XMLProperty("./blockio/@logical_block_size")
    blockio_physical = XMLProperty("./blockio/@physical_block_size")


# ---- the other devices of the appliance's domain ----------------------------------------------

class Controller(XMLObject):
    ROOT = "controller"
    type = XMLProperty("./@type")
    index = XMLProperty("./@index")
    model = XMLProperty("./@model")


class Channel(XMLObject):
    ROOT = "channel"
    type = XMLProperty("./@type")
    source_mode = XMLProperty("./source/@mode")
    source_path = XMLProperty("./source/@path")
    target_type = XMLProperty("./target/@type")
    target_name = XMLProperty("./target/@name")


class Serial(XMLObject):
    ROOT = "serial"
    type = XMLProperty("./@type")
    source_path = XMLProperty("./source/@path")
    target_port = XMLProperty("./target/@port")


class Rng(XMLObject):
    ROOT = "rng"
    model = XMLProperty("./@model")
    backend_model = XMLProperty("./backend/@model")
    backend = XMLProperty("./backend")


class MemBalloon(XMLObject):
    ROOT = "memballoon"
    model = XMLProperty("./@model")


class Interface(XMLObject):
    ROOT = "interface"
    type = XMLProperty("./@type")
    model = XMLProperty("./model/@type")
    ip_family = XMLProperty("./ip/@family")
    ip_address = XMLProperty("./ip/@address")
    ip_prefix = XMLProperty("./ip/@prefix")


# ---- <domain> ---------------------------------------------------------------------------------

class SecLabel(XMLObject):
    ROOT = "seclabel"
    type = XMLProperty("./@type")
    model = XMLProperty("./@model")
    relabel = XMLProperty("./@relabel")
    label = XMLProperty("./label")
    imagelabel = XMLProperty("./imagelabel")


class Domain(XMLObject):
    ROOT = "domain"
    type = XMLProperty("./@type")
    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    memory = XMLProperty("./memory", is_int=True)
    memory_unit = XMLProperty("./memory/@unit")
    vcpu = XMLProperty("./vcpu", is_int=True)
    os_type = XMLProperty("./os/type")
    os_arch = XMLProperty("./os/type/@arch")
    os_machine = XMLProperty("./os/type/@machine")
    kernel = XMLProperty("./os/kernel")
    initrd = XMLProperty("./os/initrd")
    cmdline = XMLProperty("./os/cmdline")
    cpu_mode = XMLProperty("./cpu/@mode")
    clock_offset = XMLProperty("./clock/@offset")
    on_poweroff = XMLProperty("./on_poweroff")
    on_reboot = XMLProperty("./on_reboot")
    on_crash = XMLProperty("./on_crash")
    emulator = XMLProperty("./devices/emulator")
    disks = XMLChildren(Disk, "./devices/disk")
    seclabels = XMLChildren(SecLabel, "./seclabel")

    def set_appliance_defaults(self, name, kvm, memsize, smp, kernel, initrd, cmdline,
                               emulator):
        """Fill in what the appliance's domain always has (the libvirt backend adds the
        devices)."""
        self.type = "kvm" if kvm else "qemu"
        self.name = name
        self.memory = memsize
        self.memory_unit = "MiB"
        self.vcpu = smp
        self.os_type = "hvm"
        self.os_arch = "x86_64"
        self.os_machine = "q35"
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.cpu_mode = "host-passthrough" if kvm else "maximum"
        self.clock_offset = "utc"
        self.on_poweroff = self.on_reboot = self.on_crash = "destroy"
        self.emulator = emulator

    def device(self, dev):
        """Append DEV (a Disk, Controller, ...) to <devices>, and return it."""
        self.child_node("devices").append(dev.node)
        return dev
