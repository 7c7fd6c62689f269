"""Pure domain logic. Nothing in this package imports Dagster; reading files is loaders/' job (both tested,
``settings.load_settings`` excepted until it moves to the composition root)."""
