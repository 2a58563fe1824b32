"""Server-rendered sign-up, sign-in and password pages, browser sessions, CSRF-protected forms."""
