"""Sign-in with OpenID Connect providers: the relying party, linked identities, the pages."""
