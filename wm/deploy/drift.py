"""`make drift`: what differs between the account and the code, through Sceptre's drift detection.

Sceptre's `drift_show` starts CloudFormation's drift detection on a stack, waits for it
(up to five minutes) and returns the resources' drift; this module puts each stack's
answer into words: matches, not deployed, or each changed resource with its properties.
"""

from __future__ import annotations

DRIFTED = ("MODIFIED", "DELETED")


def lines(path: str, detection: str, response: dict) -> tuple[list[str], int]:
    """One stack's drift in words, and how many resources differ."""
    if detection == "STACK_DOES_NOT_EXIST":
        return [f"{path}: not deployed"], 0
    if detection == "TIMED_OUT":
        return [f"{path}: drift detection did not finish in five minutes; run make drift again"], 0
    drifts = [r for r in response.get("StackResourceDrifts", []) if r.get("StackResourceDriftStatus") in DRIFTED]
    out = []
    if detection == "DETECTION_FAILED":
        out.append(f"{path}: drift detection could not check every resource (CloudFormation says "
                   "DETECTION_FAILED); what it could check is below")
    if not drifts and detection != "DETECTION_FAILED":
        out.append(f"{path}: matches the code")
    for r in sorted(drifts, key=lambda r: r["LogicalResourceId"]):
        out.append(f"{path}: {r['LogicalResourceId']} ({r['ResourceType']}) {r['StackResourceDriftStatus']}")
        for d in r.get("PropertyDifferences", []):
            out.append(f"    {d['PropertyPath']}: code says {d.get('ExpectedValue')!r}, AWS has {d.get('ActualValue')!r}")
    return out, len(drifts)


def detect(order: list, show=print) -> int:
    """Drift of every Sceptre stack in `order`, printed as it comes; how many resources differ."""
    from wm.deploy import stacks

    total = 0
    for stack in order:
        detection, response = stacks.actions(stack).drift_show(drifted=True)
        out, n = lines(stack.name, detection, response)
        for line in out:
            show(line)
        total += n
    return total
