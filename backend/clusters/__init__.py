"""Duplicate clusters: new reports attached to an open report they probably repeat."""
