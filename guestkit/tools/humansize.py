"""Sizes for people, as the virt tools print them with -h: bytes below 1024, else the
largest power-of-1024 unit (K, M, G, ...) that keeps the number below 1024, rounded to the
nearest, with one decimal when it is below 10 (1.0K, 9.5M, 51M, 137G)."""

UNITS = "KMGTPEZY"


def human_size(n):
    if n < 1024:
        return str(n)
    value = float(n)
    for unit in UNITS:
        value /= 1024.0
        if round(value, 1) < 10:
            return "%.1f%s" % (value, unit)
        if round(value) < 1024 or unit == UNITS[-1]:
            return "%d%s" % (round(value), unit)
    return str(n)
