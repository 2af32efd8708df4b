"""`make secret` with a customer-managed KMS key: the SecureString is encrypted with that key.

environment.secrets_kms_key_arn names the key the execution role may decrypt with; a secret
stored under another key (say the AWS managed aws/ssm) would then fail to reach the
container. On the emulator, with a key it made, in a copy of the repository.
"""

from __future__ import annotations

import boto3
import pytest
from conftest import repo_copy, tool

pytestmark = pytest.mark.emulator

VALUE = "xoxb-not-a-real-token-kms"


def test_a_secret_is_stored_under_the_configured_key_and_never_printed(emulator, tmp_path):
    endpoint = f"http://127.0.0.1:{emulator}"
    kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    key = kms.create_key(Description="weekly-models test secrets")["KeyMetadata"]["Arn"]
    repo = repo_copy(tmp_path / "repo")
    config = repo / "config" / "dev" / "config.yaml"
    text = config.read_text()
    assert text.count("  environment:\n") == 1
    config.write_text(text.replace("  environment:\n", f"  environment:\n    secrets_kms_key_arn: {key}\n"))

    result = tool("wm", "secret", "local", "SLACK_API_TOKEN", cwd=repo, endpoint=endpoint, stdin=VALUE + "\n")
    assert result.returncode == 0, result.stderr
    assert f"encrypted with the KMS key {key}" in result.stdout
    assert VALUE not in result.stdout + result.stderr
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    (described,) = ssm.describe_parameters(ParameterFilters=[
        {"Key": "Name", "Values": ["/weekly-models/dev/SLACK_API_TOKEN"]}])["Parameters"]
    assert (described["Type"], described["KeyId"]) == ("SecureString", key)
    stored = ssm.get_parameter(Name="/weekly-models/dev/SLACK_API_TOKEN", WithDecryption=True)["Parameter"]
    assert stored["Value"] == VALUE


def test_without_a_key_the_aws_managed_key_is_used_and_said(emulator, tmp_path):
    repo = repo_copy(tmp_path / "repo")
    result = tool("wm", "secret", "local", "GH_TOKEN", cwd=repo, endpoint=f"http://127.0.0.1:{emulator}",
                  stdin="ghp_notarealtoken\n")
    assert result.returncode == 0, result.stderr
    assert "encrypted with the AWS managed key aws/ssm" in result.stdout and "ghp_" not in result.stdout
