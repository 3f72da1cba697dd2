"""ordergraph: one GraphQL API over Unified.to, StackOne and Kombo assessment orders."""
