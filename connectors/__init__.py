"""Source connectors: each turns one kind of source into `Mention` records.

Connectors fetch and parse; they never touch the warehouse. Loading is someone else's job.
"""
