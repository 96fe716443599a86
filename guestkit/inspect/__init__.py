"""The host's side of inspection: what comes back from the appliance is checked and shaped
here (records.py) before the inspect_* actions (guestkit/library/inspection.py) hand it out.
The appliance parsed hostile guest files, so nothing it says is trusted as it is."""
