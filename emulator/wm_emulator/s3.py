"""AWS::S3::BucketPolicy for moto's CloudFormation, on moto's S3 backend.

moto's CloudFormation skips it (the stack still says CREATE_COMPLETE). Here the document
becomes the bucket's policy (GetBucketPolicy returns it); an update sets the new one, a
delete removes it. moto evaluates a bucket policy's Deny statements, and the emulator speaks
plain HTTP: a statement that denies requests without TLS (aws:SecureTransport false) would
refuse every request there, where on AWS every request of this project's tools uses TLS. Such
statements are kept on the resource but left out of the policy moto applies, and said so in
its log.
"""

from __future__ import annotations

import json

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends

from .base import Extension


def _tls_only(statement: dict) -> bool:
    return statement.get("Effect") == "Deny" and \
        str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"


def _backend(account_id: str):
    return s3_backends[account_id]["aws"]


class S3BucketPolicy(Extension, CloudFormationModel):
    TYPE = "AWS::S3::BucketPolicy"
    PROPERTIES = frozenset({"Bucket", "PolicyDocument"})
    REF = "bucket"

    def __init__(self, bucket: str, document: str):
        self.bucket, self.document = bucket, document

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cls.properties(cloudformation_json)
        document = p["PolicyDocument"] if isinstance(p["PolicyDocument"], str) else json.dumps(p["PolicyDocument"])
        policy = json.loads(document)
        applied = [st for st in policy.get("Statement", []) if not _tls_only(st)]
        if len(applied) != len(policy.get("Statement", [])):
            print(f"weekly-models emulator: bucket {p['Bucket']}: its TLS-only statement is not applied (plain HTTP "
                  "here)", flush=True)
        backend = _backend(account_id)
        if applied:
            backend.put_bucket_policy(p["Bucket"], json.dumps({**policy, "Statement": applied}).encode())
        else:
            backend.delete_bucket_policy(p["Bucket"])
        return cls(p["Bucket"], document)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        if original_resource.bucket != new.bucket:
            _remove(account_id, original_resource.bucket)
        return new

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        bucket = cloudformation_json.get("Properties", {}).get("Bucket")
        if isinstance(bucket, str):
            _remove(account_id, bucket)

    def delete(self, account_id: str, region_name: str) -> None:
        _remove(account_id, self.bucket)


def _remove(account_id: str, bucket: str) -> None:
    """The bucket's policy gone (a bucket deleted before its policy has none left to remove)."""
    backend = _backend(account_id)
    if bucket in backend.buckets:
        backend.delete_bucket_policy(bucket)
