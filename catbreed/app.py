"""Build the gateway from the settings, once per process."""

from __future__ import annotations

from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import BucketStore, FolderStore
from catbreed.gateway import Gateway
from catbreed.model import Classifier
from catbreed.service import Service
from catbreed.settings import Settings
from catbreed.storage import reader
from catbreed.uploads import Uploads


def create_gateway(settings: Settings | None = None) -> Gateway:
    """The Lambda handler's gateway, from `settings` (default: read from the environment).
    Without an upload bucket, POST /uploads and {"upload": key} answer 404; without a
    feedback bucket, kept feedback goes to the folder settings.feedback_dir."""
    settings = settings or Settings.from_env()
    uploads = Uploads(settings.upload_bucket, endpoint=settings.s3_endpoint) if settings.upload_bucket else None
    store = (
        BucketStore(settings.feedback_bucket, endpoint=settings.s3_endpoint)
        if settings.feedback_bucket
        else FolderStore(settings.feedback_dir)
    )
    classifier = Classifier(settings.model_dir, num_threads=settings.threads)
    service = Service(classifier, settings.limits, uploads=uploads, feedback=FeedbackDesk(store))
    return Gateway(service, read_stored=reader(settings.s3_endpoint))
