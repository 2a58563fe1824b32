"""HTTP plumbing shared by every route: errors, middleware, auth dependencies, pagination."""
