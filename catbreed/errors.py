"""Domain errors: each carries a stable code of docs/API.md; its HTTP status comes from
STATUS_OF_CODE, the one table of codes and statuses (the docs and tests read it)."""

from __future__ import annotations

from catbreed.limits import DIRECT_MAX_BYTES, PHOTO_MAX_BYTES

STATUS_OF_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_url": 400,
    "forbidden_url": 400,
    "wrong_token": 403,
    "not_found": 404,
    "upload_not_found": 404,
    "feedback_not_found": 404,
    "photo_not_found": 404,
    "method_not_allowed": 405,
    "image_too_large": 413,
    "unsupported_image": 415,
    "internal_error": 500,
    "download_failed": 502,
    "download_timeout": 504,
}


class CatbreedError(Exception):
    """An error the caller caused or can act on; the message is safe to show a person."""

    code = "internal_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def status(self) -> int:
        """The HTTP status of this error's code."""
        return STATUS_OF_CODE[self.code]

    def to_body(self) -> dict:
        """The API's error body."""
        return {"error": {"code": self.code, "message": self.message}}


class InvalidRequest(CatbreedError):
    """The request itself is wrong (JSON, fields, types, URL)."""

    code = "invalid_request"


def in_mib(size: int) -> str:
    """A byte limit as people read it: 4194304 -> "4 MiB"."""
    return f"{size / (1024 * 1024):g} MiB"


class ImageTooLarge(CatbreedError):
    """The photo is larger than the byte limit."""

    code = "image_too_large"

    @classmethod
    def over(cls, max_bytes: int = PHOTO_MAX_BYTES) -> ImageTooLarge:
        """The error for a photo past `max_bytes`."""
        return cls(f"The photo is larger than the {in_mib(max_bytes)} limit.")

    @classmethod
    def direct(cls, max_bytes: int = DIRECT_MAX_BYTES) -> ImageTooLarge:
        """The error for a photo sent in the request itself past the direct limit."""
        return cls(
            f"The photo is larger than the {in_mib(max_bytes)} limit for photos sent in the request; "
            f"upload it first (POST /uploads takes up to {in_mib(PHOTO_MAX_BYTES)}) and send {{\"upload\": key}}."
        )

    @classmethod
    def request(cls) -> ImageTooLarge:
        """The error for a whole request body past what a photo at the direct limit needs."""
        return cls(
            f"The request is larger than the {in_mib(DIRECT_MAX_BYTES)} limit for photos sent in the request allows; "
            f"upload bigger photos first (POST /uploads takes up to {in_mib(PHOTO_MAX_BYTES)})."
        )


class UnsupportedImage(CatbreedError):
    """The bytes are not a supported image, or it has too many pixels."""

    code = "unsupported_image"


class DownloadFailed(CatbreedError):
    """The URL could not be fetched."""

    code = "download_failed"


class DownloadTimeout(CatbreedError):
    """Fetching the URL took longer than its limit."""

    code = "download_timeout"

    @classmethod
    def after(cls, seconds: float) -> DownloadTimeout:
        """The error for a download that outlived its `seconds`."""
        return cls(f"The photo took longer than {seconds:g} s to download.")


class NotFound(CatbreedError):
    """No such route."""

    code = "not_found"


class UploadNotFound(CatbreedError):
    """No stored photo under that upload key (never sent, expired, or already used)."""

    code = "upload_not_found"


class WrongToken(CatbreedError):
    """The deletion token does not belong to that feedback."""

    code = "wrong_token"


class FeedbackNotFound(CatbreedError):
    """No kept feedback under that id (never kept, or already deleted)."""

    code = "feedback_not_found"


class PhotoNotFound(CatbreedError):
    """No photo at that place that we may read (a bulk object in S3, a file of a local folder)."""

    code = "photo_not_found"


class MethodNotAllowed(CatbreedError):
    """The route exists but not for this method; `allow` lists those it takes (the Allow header)."""

    code = "method_not_allowed"

    def __init__(self, message: str, allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.allow = allow


INTERNAL_ERROR_BODY = {"error": {"code": "internal_error", "message": "Something went wrong on our side; please try again."}}
