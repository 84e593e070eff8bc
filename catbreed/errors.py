"""Domain errors: each carries a stable code of docs/API.md; its HTTP status comes from
STATUS_OF_CODE, the one table of codes and statuses (the docs and tests read it)."""

from __future__ import annotations

STATUS_OF_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_url": 400,
    "forbidden_url": 400,
    "not_found": 404,
    "upload_not_found": 404,
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


class ImageTooLarge(CatbreedError):
    """The photo is larger than the byte limit."""

    code = "image_too_large"

    @classmethod
    def over(cls, max_bytes: int) -> ImageTooLarge:
        """The error for a photo past `max_bytes`."""
        return cls(f"The photo is larger than the {max_bytes // (1024 * 1024)} MB limit.")

    @classmethod
    def direct(cls, max_bytes: int) -> ImageTooLarge:
        """The error for a photo sent in the request itself past the direct limit."""
        return cls(
            f"The photo is larger than the {max_bytes // (1024 * 1024)} MiB limit for photos sent in the request; "
            "upload it first (POST /uploads takes up to 10 MB) and send {\"upload\": key}."
        )

    @classmethod
    def request(cls) -> ImageTooLarge:
        """The error for a whole request body past what a photo at the direct limit needs."""
        return cls(
            "The request is larger than the 4 MiB limit for photos sent in the request allows; "
            "upload bigger photos first (POST /uploads takes up to 10 MB)."
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


class MethodNotAllowed(CatbreedError):
    """The route exists but not for this method; `allow` lists those it takes (the Allow header)."""

    code = "method_not_allowed"

    def __init__(self, message: str, allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.allow = allow


INTERNAL_ERROR_BODY = {"error": {"code": "internal_error", "message": "Something went wrong on our side; please try again."}}
