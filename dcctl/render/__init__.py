"""Vendor configuration rendering: switch intent in, device config text out.

One Jinja2 template set per vendor under templates/<vendor>/; adding a vendor
is one more folder. Templates get only validated values (spec types) and the
environment is strict (StrictUndefined, no autoescape since output is not HTML).
"""
