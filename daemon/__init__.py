"""guestkitd: the daemon that runs inside the appliance (standard library only)."""
