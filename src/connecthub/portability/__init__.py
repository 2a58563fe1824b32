"""Data portability (issue 20): the archive of everything an account holds (exports) and
Mastodon's CSV imports (follows, blocks, mutes, bookmarks, lists)."""
