"""Faithful simulators of the Unified.to, StackOne and Kombo APIs, for machines with no internet."""
