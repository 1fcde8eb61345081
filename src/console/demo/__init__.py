"""The demo: the sample inventory served by embedded SSH hosts on loopback, with no setup."""

from console.demo.command import configure, run_demo

__all__ = ["configure", "run_demo"]
