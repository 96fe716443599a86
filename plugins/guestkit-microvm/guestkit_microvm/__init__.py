"""guestkit-microvm: a guestkit backend that boots the appliance on qemu's microvm machine.

Installed, it registers the backend ``microvm`` in the ``guestkit.backends`` entry-point
namespace; select it with ``GUESTKIT_BACKEND=microvm`` or ``g.set_backend("microvm")``.
"""

from .backend import MicrovmBackend

__all__ = ["MicrovmBackend"]
__version__ = "0.1.0"
