"""The bottom layer every domain may use: how datetimes, plain text and keyset pages are
written and read, and how a background task is stopped. It imports nothing from ConnectHub
above `ids`."""
