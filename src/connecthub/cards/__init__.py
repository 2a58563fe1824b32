"""Preview cards: the title, description and image of a status' first link."""
