"""Accounts: users and profiles, sign-up, sign-in, passwords, two-factor, roles, suspension."""
