"""The analysis package. Importing it registers what a new database is seeded with (see store.seed_new_databases),
so a database created by any entry point (the dashboard, the service, any CLI verb) starts with them."""

from analysis import (  # noqa: F401  (each registers a seed)
    alerts,  # the default alert rules
    schemes,  # the default monitoring schemes
)
