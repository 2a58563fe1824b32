"""The bottom layer every domain may use: how datetimes, plain text and keyset pages are
written and read. It imports nothing from ConnectHub above `errors`."""
