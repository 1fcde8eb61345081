"""Ops Console: provision servers and deploy software over SSH, with gates and an audit trail."""

__version__ = "0.1.0"
