"""Product analytics that identify no one (docs/analytics.md): pseudonymised events of
consenting accounts, released only through k-anonymity and Laplace noise."""
