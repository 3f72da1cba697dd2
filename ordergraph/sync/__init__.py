"""Filling the order index: webhook intake, the Kombo poller, Unified webhook
registration, and the one ingestion operation they all end in."""
