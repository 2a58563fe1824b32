"""media: upload, validation, processing, storage and serving of attachments."""
