"""The virt-* style tools and diagnostics, one module per tool (``test_tool``: ``guestkit
test-tool``)."""
