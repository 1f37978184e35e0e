"""Users, roles, patients, authentication and object-level permissions."""
