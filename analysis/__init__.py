"""The analysis package. Importing it registers what a new database is seeded with (see store.seed_new_databases),
so a database created by any entry point (the dashboard, the service, any CLI verb) starts with them."""

from analysis import alerts  # noqa: F401  (registers the default alert rules as a seed)
