"""Provider adapters: everything that speaks Unified.to, StackOne or Kombo on the wire."""
