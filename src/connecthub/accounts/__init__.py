"""Accounts: sign-up, OAuth apps and tokens, passwords, two-factor sign-in, profiles."""
