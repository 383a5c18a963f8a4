"""Storage: the database connection, the tables, migrations and the bulk writers."""
