"""pytest plugin for running ceph/s3-tests against S3 servers without versioning.

The suite empties its buckets between tests with ListObjectVersions. An S3 server without
versioning (the twinedge local origin) answers that with 501 NotImplemented, which S3 itself
answers for features it does not offer; this plugin then lists with ListObjectsV2 and deletes
what it finds, so cleanup does the same work. Servers that implement ListObjectVersions
(moto, AWS) never reach the fallback. Nothing else in the suite is changed.
"""

from botocore.exceptions import ClientError


def pytest_configure(config):
    import s3tests.functional as functional

    versions = functional.list_versions

    def list_versions(client, bucket, batch_size):
        try:
            yield from versions(client, bucket, batch_size)
            return
        except ClientError as e:
            if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 501:
                raise
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": batch_size})
        for page in pages:
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                yield objs

    functional.list_versions = list_versions
