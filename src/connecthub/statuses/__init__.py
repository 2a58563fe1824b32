"""Posts: create, edit, delete, favourites, boosts, bookmarks, pins, mentions, hashtags, polls."""
