"""The Insights GraphQL API: SDL schema, scalars, validation, resolvers, batched loaders, executor."""
