"""Launch backends (plugins found through the guestkit.backends entry points)."""
