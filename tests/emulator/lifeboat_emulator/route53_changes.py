"""Route 53 change batches as AWS reports them: `ChangeInfo` with its own id, `PENDING` first.

moto 5.2.5 answers every `ChangeResourceRecordSets` with the same change id
(`/change/C2682N5HXP0BZ4`) and `INSYNC`, and `GetChange` says `INSYNC` for any id, even one it
never issued. From the Route 53 API reference:

- `GetChange`: "PENDING indicates that the changes in this request have not propagated to all
  Amazon Route 53 DNS servers managing the hosted zone. This is the initial status of all change
  batch requests. INSYNC indicates that the changes have propagated to all Route 53 DNS servers";
  its `Id` is "the value that ChangeResourceRecordSets returned in the Id element"; an unknown
  one is `NoSuchChange` ("A change with the specified change ID does not exist", 404).
- `ChangeResourceRecordSets` answers `ChangeInfo` (`Id`, `Status`, `SubmittedAt`, `Comment` from
  the batch): `PENDING`, the initial status.

Each batch gets an id of its own (`/change/C` and 13 characters, as AWS's look). `GetChange`
answers `INSYNC` at once unless a test holds changes: `POST /lifeboat-api/route53/hold-changes`
`{account_id, reads}` makes every change batch the account submits from then on stay `PENDING`
for `reads` `GetChange` calls (`reads` 0 ends that).
"""

import random
import string
import threading
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53.exceptions import Route53ClientError
from moto.route53.responses import Route53

from . import control


class Change:
    def __init__(self, change_id: str, submitted: datetime, comment: str | None, reads: int):
        self.change_id = change_id
        self.submitted = submitted
        self.comment = comment
        self.pending_reads = reads

    def info(self, status: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "Id": f"/change/{self.change_id}",
            "Status": status,
            "SubmittedAt": self.submitted,
        }
        if self.comment:
            info["Comment"] = self.comment
        return info


_lock = threading.Lock()
_changes: dict[tuple[str, str], Change] = {}
_pending_reads: dict[str, int] = {}

_original = {"change_resource_record_sets": Route53.change_resource_record_sets}


def _new_id() -> str:
    return "C" + "".join(random.choices(string.ascii_uppercase + string.digits, k=13))


def change_resource_record_sets(self: Route53) -> Any:
    _original["change_resource_record_sets"](self)  # validates and applies the batch
    account = self.current_account
    with _lock:
        change = Change(
            _new_id(),
            utcnow(),
            self._get_param("ChangeBatch.Comment"),
            _pending_reads.get(account, 0),
        )
        _changes[(account, change.change_id)] = change
    return ActionResult({"ChangeInfo": change.info("PENDING")})


def get_change(self: Route53) -> Any:
    raw = str(self._get_param("Id") or "")
    change_id = raw.rsplit("/", 1)[-1]
    with _lock:
        change = _changes.get((self.current_account, change_id))
        if change is None:
            raise Route53ClientError(
                "NoSuchChange", f"A change with the specified change ID does not exist: {raw}"
            )
        if change.pending_reads > 0:
            change.pending_reads -= 1
            status = "PENDING"
        else:
            status = "INSYNC"
    return ActionResult({"ChangeInfo": change.info(status)})


@control.route("POST", r"route53/hold-changes")
def _hold_changes(_match: Any, body: dict) -> tuple[int, Any]:
    reads = int(body.get("reads", 1))
    if reads < 0:
        raise control.ControlError(400, "reads must be 0 (INSYNC at once) or more")
    with _lock:
        _pending_reads[str(body["account_id"])] = reads
    return 200, {"reads": reads}


def install() -> None:
    control.install()
    Route53.change_resource_record_sets = change_resource_record_sets  # type: ignore[method-assign]
    Route53.get_change = get_change  # type: ignore[method-assign]
