"""Builds and caches the appliance: host kernel + an initramfs holding guestkitd."""

from .builder import Appliance, ApplianceError, get_appliance, find_kernel  # noqa: F401
