"""The catalog app: items that the API lists and creates."""
