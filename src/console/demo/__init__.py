"""The demo: the sample inventory served by embedded SSH hosts on loopback, with no setup, and
a simulated change board (`board`); `opsconsole demo` is in `console.cli.demo`."""
