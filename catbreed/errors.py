"""Domain errors: each carries a stable code of docs/API.md; its HTTP status comes from
STATUS_OF_CODE, the one table of codes and statuses (the docs and tests read it)."""

from __future__ import annotations

from catbreed.limits import DIRECT_MAX_BYTES, PHOTO_MAX_BYTES

STATUS_OF_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_url": 400,
    "forbidden_url": 400,
    "token_required": 401,
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

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the error's status calls for (Allow of a 405, WWW-Authenticate of a 401)."""
        return {}


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
    def direct(cls, uploads: bool) -> ImageTooLarge:
        """The error for a photo sent in the request itself (or a request body) past the direct
        limit; the way around it is an upload where the API has uploads, else the photo's URL."""
        advice = (
            f'upload it first (POST /uploads takes up to {in_mib(PHOTO_MAX_BYTES)}) and send {{"upload": key}}'
            if uploads
            else f"this API has no uploads, so send the photo's URL instead (up to {in_mib(PHOTO_MAX_BYTES)})"
        )
        return cls(f"The photo is larger than the {in_mib(DIRECT_MAX_BYTES)} limit for photos sent in the request; {advice}.")


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
    """No such route, or a route this deployment does not offer (uploads, feedback)."""

    code = "not_found"


class UploadNotFound(CatbreedError):
    """No stored photo under that upload key (never sent, expired, or already used)."""

    code = "upload_not_found"


class TokenRequired(CatbreedError):
    """A route that needs a token (`Authorization: Bearer <token>`) got none."""

    code = "token_required"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


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

    def __init__(self, path: str, method: str, allow: tuple[str, ...]) -> None:
        super().__init__(f"{path} takes {' or '.join(allow)}, not {method}.")
        self.allow = allow

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)}


INTERNAL_ERROR_BODY = {"error": {"code": "internal_error", "message": "Something went wrong on our side; please try again."}}
