"""The appliance's libvirt domain, declared with the XML model of guestkit.xmlmodel:
every element is a small class of XPath-bound fields, defaults filled in one place."""

from ..domains import Disk as ReadDisk, Host as SourceHost, SecLabel  # noqa: F401
from ..xmlmodel import XMLObject, XMLProperty


class ApplianceDomain(XMLObject):
    ROOT = "domain"
    type = XMLProperty("./@type")
    name = XMLProperty("./name")
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

    def set_defaults(self, name, kvm, memsize, smp, kernel, initrd, cmdline, emulator):
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
        devices = self.node.find("devices")
        devices.append(dev.node)
        return dev


class Disk(ReadDisk):
    """A disk to write: the fields add_domain reads, plus those the appliance sets."""
    driver_name = XMLProperty("./driver/@name")
    driver_cache = XMLProperty("./driver/@cache")
    driver_discard = XMLProperty("./driver/@discard")
    driver_copy_on_read = XMLProperty("./driver/@copy_on_read")
    source_file = XMLProperty("./source/@file")
    source_dev = XMLProperty("./source/@dev")
    source_protocol = XMLProperty("./source/@protocol")
    source_name = XMLProperty("./source/@name")
    target_dev = XMLProperty("./target/@dev")
    target_bus = XMLProperty("./target/@bus")
    address_type = XMLProperty("./address/@type")
    address_controller = XMLProperty("./address/@controller")
    address_bus = XMLProperty("./address/@bus")
    address_target = XMLProperty("./address/@target")
    address_unit = XMLProperty("./address/@unit")
    blockio_logical = XMLProperty("./blockio/@logical_block_size")
    blockio_physical = XMLProperty("./blockio/@physical_block_size")


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
