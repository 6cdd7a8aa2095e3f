"""Outgoing webhooks: signed JSON events about reports for other systems, without personal data."""
