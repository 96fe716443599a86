"""guestkit: open and modify virtual-machine disk images through a small qemu appliance."""
