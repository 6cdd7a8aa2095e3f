"""The public portal (cổng công khai): published reports, their map, and a private lookup.

Read-only and anonymous. Owns what the public may see of a report: published, not
merged, with personal data removed (`privacy`), and the indexes that keep its
queries fast (`models`, migration 0009).
"""
