"""Domain errors: each carries the stable code and HTTP status of ../shared/API.md."""

from __future__ import annotations


class CatbreedError(Exception):
    """An error the caller caused or can act on; the message is safe to show a person."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_body(self) -> dict:
        """The API's error body."""
        return {"error": {"code": self.code, "message": self.message}}


class InvalidRequest(CatbreedError):
    """400: the request itself is wrong (JSON, fields, types, URL)."""

    code = "invalid_request"
    status = 400


class ImageTooLarge(CatbreedError):
    """413: the photo is larger than the byte limit."""

    code = "image_too_large"
    status = 413

    @classmethod
    def over(cls, max_bytes: int) -> ImageTooLarge:
        """The error for a photo past `max_bytes`."""
        return cls(f"The photo is larger than the {max_bytes // (1024 * 1024)} MB limit.")

    @classmethod
    def request(cls) -> ImageTooLarge:
        """The error for a whole request body past what a 10 MB photo needs."""
        return cls("The request is larger than the 10 MB photo limit allows.")


class UnsupportedImage(CatbreedError):
    """415: the bytes are not a supported image, or it has too many pixels."""

    code = "unsupported_image"
    status = 415


class DownloadFailed(CatbreedError):
    """502: the URL could not be fetched."""

    code = "download_failed"
    status = 502


class DownloadTimeout(CatbreedError):
    """504: fetching the URL took longer than its limit."""

    code = "download_timeout"
    status = 504

    @classmethod
    def after(cls, seconds: float) -> DownloadTimeout:
        """The error for a download that outlived its `seconds`."""
        return cls(f"The photo took longer than {seconds:g} s to download.")


class NotFound(CatbreedError):
    """404: no such route."""

    code = "not_found"
    status = 404


class MethodNotAllowed(CatbreedError):
    """405: the route exists but not for this method."""

    code = "method_not_allowed"
    status = 405


INTERNAL_ERROR_BODY = {"error": {"code": "internal_error", "message": "Something went wrong on our side; please try again."}}
