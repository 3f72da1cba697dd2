"""Behaviour behind the schema: resolver functions, the request context and dataloaders.

Resolvers call the store and the provider adapters; they never build SQL or HTTP
themselves."""
