"""Local development tools beside the function (not in the Lambda image): the local
server that calls the handler as API Gateway and the Lambda emulator would, a small
client for test.py and test_cloud.py, the work behind bulk.py (bulk_local, bulk_s3,
bulk_rows), and the export of owners' feedback for review (feedback_export)."""
