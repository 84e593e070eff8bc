"""The API's numbers, the one place they live: how big a photo and a request may be, and how
many breeds an answer lists."""

# A photo fetched from a URL, uploaded through POST /uploads, or read by a bulk batch.
PHOTO_MAX_BYTES = 10 * 1024 * 1024

# A photo sent in the request itself (base64 JSON or a raw body). A synchronous Lambda invoke
# takes at most 6,291,456 bytes of event, and the HTTP API base64-encodes raw bodies, so the
# largest photo that reaches the function is about 4.49 MiB (see docs/ways-in.md); refusing past
# 4 MiB keeps our own 413 in front of AWS's.
DIRECT_MAX_BYTES = 4 * 1024 * 1024

# A whole HTTP request body: a photo at the direct limit as base64 JSON fits, with room for
# the rest of the request; a larger body is refused unread.
MAX_BODY_BYTES = DIRECT_MAX_BYTES * 4 // 3 + 64 * 1024

# How many breeds an answer lists when the request does not say (`top_k`); also the bulk
# CSV's breed columns.
DEFAULT_TOP_K = 5

# The owner's own words for a breed the model does not know ("another breed" in feedback),
# after stripping; longer is refused, not cut.
FEEDBACK_TEXT_MAX_CHARS = 60
