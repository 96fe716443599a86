"""Library-side transfer actions (copy_in, copy_out, ...): they run on the host and use the
daemon's archive actions, keeping everything that lands on the host inside the chosen
destination."""

__all__ = []
