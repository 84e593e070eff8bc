"""How big a photo may be, the one place these numbers live."""

# A photo fetched from a URL, uploaded through POST /uploads, or read by a bulk batch.
PHOTO_MAX_BYTES = 10 * 1024 * 1024

# A photo sent in the request itself (base64 JSON or a raw body). A synchronous Lambda invoke
# takes at most 6,291,456 bytes of event, and the HTTP API base64-encodes raw bodies, so the
# largest photo that reaches the function is about 4.49 MiB (see the README); refusing past
# 4 MiB keeps our own 413 in front of AWS's.
DIRECT_MAX_BYTES = 4 * 1024 * 1024

# The owner's own words for a breed the model does not know ("another breed" in feedback),
# after stripping; longer is refused, not cut.
FEEDBACK_TEXT_MAX_CHARS = 60
