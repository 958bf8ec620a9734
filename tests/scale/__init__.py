"""Scale-out tests: several processes sharing one PostgreSQL store and one sandbox in its own process."""
