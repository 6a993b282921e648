"""The SQL store: one SQLAlchemy Core implementation for every database."""
