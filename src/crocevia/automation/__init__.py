"""Bots a business writes without code: flows declared as data, run step by step on inbound messages."""
