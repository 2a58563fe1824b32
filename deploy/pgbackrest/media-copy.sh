#!/bin/sh
# Copies ConnectHub's media bucket into a backup bucket (docs/backups.md, "Media").
# Media objects are written once under a new key and never changed (`--immutable` fails
# loudly if one ever is); an object deleted from the media bucket since the last run is
# moved into media-deleted/<time of this run>/ instead of being lost, so a point-in-time
# restore to a moment before its deletion can copy it back. Drop media-deleted/<time>/
# folders older than the database's retention (14 days) with a lifecycle rule or
# `rclone purge`.
# rclone remotes `media:` and `backup:` are set in rclone.conf (S3 provider, endpoint,
# keys: the MEDIA_S3_* settings for `media:`).
set -eu
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
exec rclone sync media:connecthub-media backup:connecthub-media-copy \
  --immutable --checksum \
  --backup-dir "backup:connecthub-media-deleted/$stamp"
