"""The selinux flag of a handle (set_selinux / get_selinux): read by backends/cmdline.py."""

__all__ = ["set_selinux", "get_selinux"]

#: what the appliance kernel gets when the flag is on: SELinux permissive, no policy
KERNEL_ARGS = ["selinux=1", "security=selinux", "enforcing=0"]


def set_selinux(g, selinux):
    g._module_state("selinux")["on"] = bool(selinux)


def get_selinux(g):
    return bool(g._module_state("selinux").get("on", False))


def kernel_args(g):
    return list(KERNEL_ARGS) if get_selinux(g) else []
