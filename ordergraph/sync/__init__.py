"""Filling the order index: webhook intake, the order poller, webhook registration,
and the one ingestion operation they all end in; each acts on what a provider's
plug-in declares (ordergraph/providers/plugin.py), never on its name."""
