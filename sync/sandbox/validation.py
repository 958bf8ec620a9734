"""The one place request shapes are checked: malformed input gets Zendesk's 400/422, never a 500.

Every API request passes :func:`validate_request` after its route is known and before its handler runs,
so handlers may assume well-typed ids, strings and lists.  The answers are Zendesk's envelopes:

* an unusable query parameter (``ids=a,b``, ``page=x``) → 400 ``{"error": "InvalidValue", "description"}``;
* a body that is not an object, or a wrapper (``ticket``, ``user``…) that is not one → 400 ``InvalidJSON``;
* a field of the wrong type → 422 ``RecordInvalid`` with ``details`` keyed by field, each entry
  ``{"description": "<Field>: is invalid", "error": "InvalidValue"}``; a required reference set to
  ``null`` (``requester_id``) → ``"<Field>: cannot be blank"``, ``BlankValue``.  This is the shape Zendesk
  answers for validation errors (``{"error":"RecordInvalid","description":"Record validation errors",
  "details":{"base":[{"description":"Subject: cannot be blank","error":"BlankValue",…}]}}``, quoted in
  https://support.zendesk.com/hc/en-us/community/posts/4409515267866).

A path id that is not a number cannot name a record: 404 ``RecordNotFound``, as for an unknown id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ApiError, bad_request, not_found
from .routing import Ctx

__all__ = ["validate_request"]

Check = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.strip().isdigit())


def _opt(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _list_of(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(i) for i in v)


def _obj(v: Any) -> bool:
    return isinstance(v, dict)


def _tags(v: Any) -> bool:
    # Zendesk takes a list of tags or one space-separated string.
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(t, str) for t in v))


def _user_ref(v: Any) -> bool:
    # ``collaborator_ids``/``email_ccs``/``followers`` items: an id, an email, or an object naming one.
    if _int(v) or isinstance(v, str):
        return True
    if not isinstance(v, dict):
        return False
    return all(_opt(_int)(v.get(k)) for k in ("user_id", "id")) and all(
        _opt(_str)(v.get(k)) for k in ("user_email", "email", "user_name", "name", "action"))


_ID, _OPT_ID = _int, _opt(_int)
_COMMENT: Mapping[str, Check] = {
    "body": _opt(_str), "html_body": _opt(_str), "public": _bool, "author_id": _ID,
    "uploads": _list_of(_str), "metadata": _opt(_obj),
}
_TICKET: Mapping[str, Check] = {
    "id": _ID, "requester_id": _ID, "submitter_id": _ID, "assignee_id": _OPT_ID, "organization_id": _OPT_ID,
    "group_id": _OPT_ID, "brand_id": _OPT_ID, "ticket_form_id": _OPT_ID, "via_followup_source_id": _ID,
    "problem_id": _OPT_ID, "subject": _opt(_str), "description": _opt(_str), "status": _str,
    # ``priority`` is judged with its values by the ticket rules: Zendesk answers any invalid one, of any
    # type, with "Priority: is invalid" under ``details.base``.
    "type": _opt(_str), "external_id": _opt(_scalar), "tags": _tags,
    "additional_tags": _tags, "remove_tags": _tags, "collaborator_ids": _list_of(_ID),
    "email_ccs": _list_of(_user_ref), "followers": _list_of(_user_ref), "collaborators": _list_of(_user_ref),
    "custom_fields": _list_of(_obj),
    "safe_update": _bool, "updated_stamp": _opt(_str), "requester": _obj, "metadata": _opt(_obj),
}
_REQUIRED_REFS = ("requester_id", "submitter_id", "author_id")
_USER: Mapping[str, Check] = {
    "name": _opt(_str), "email": _opt(_str), "role": _str, "verified": _bool, "external_id": _opt(_scalar),
    "organization_id": _OPT_ID, "phone": _opt(_str), "details": _opt(_str), "notes": _opt(_str),
    "tags": _tags, "user_fields": _opt(_obj), "skip_verify_email": _bool, "locale": _opt(_str),
}
_ORG: Mapping[str, Check] = {
    "name": _str, "external_id": _opt(_scalar), "details": _opt(_str), "notes": _opt(_str), "tags": _tags,
    "domain_names": _list_of(_str), "organization_fields": _opt(_obj), "group_id": _OPT_ID,
    "shared_tickets": _bool, "shared_comments": _bool,
}
_MEMBERSHIP: Mapping[str, Check] = {"user_id": _ID, "organization_id": _ID, "default": _opt(_bool)}
_WEBHOOK: Mapping[str, Check] = {
    "name": _str, "endpoint": _str, "http_method": _str, "request_format": _str, "status": _str,
    "subscriptions": _list_of(_str), "authentication": _opt(_obj), "signing_secret": _opt(_obj),
}
_MERGE: Mapping[str, Check] = {
    "ids": _list_of(_ID), "source_comment": _opt(_str), "target_comment": _opt(_str),
    "source_comment_is_public": _bool, "target_comment_is_public": _bool,
}
_FIELD: Mapping[str, Check] = {"type": _str, "title": _str, "active": _bool, "description": _opt(_str)}

#: Body schemas by (method, route): wrapper key → field checks; ``None`` wrapper: the body's own fields;
#: a ``[]`` suffix: a list of such objects.
_BODIES: dict[tuple[str, str], list[tuple[str | None, Mapping[str, Check]]]] = {
    ("POST", "/api/v2/tickets"): [("ticket", _TICKET)],
    ("PUT", "/api/v2/tickets/{id}"): [("ticket", _TICKET)],
    ("PUT", "/api/v2/tickets/update_many"): [("ticket", _TICKET), ("tickets[]", _TICKET)],
    ("POST", "/api/v2/tickets/{id}/merge"): [(None, _MERGE)],
    ("POST", "/api/v2/requests"): [("request", _TICKET)],
    ("PUT", "/api/v2/requests/{id}"): [("request", _TICKET)],
    ("POST", "/api/v2/users"): [("user", _USER)],
    ("POST", "/api/v2/users/create_or_update"): [("user", _USER)],
    ("PUT", "/api/v2/users/{id}"): [("user", _USER)],
    ("POST", "/api/v2/organizations"): [("organization", _ORG)],
    ("POST", "/api/v2/organizations/create_or_update"): [("organization", _ORG)],
    ("PUT", "/api/v2/organizations/{id}"): [("organization", _ORG)],
    ("POST", "/api/v2/organization_memberships"): [("organization_membership", _MEMBERSHIP)],
    ("POST", "/api/v2/webhooks"): [("webhook", _WEBHOOK)],
    ("PUT", "/api/v2/webhooks/{id}"): [("webhook", _WEBHOOK)],
    ("PATCH", "/api/v2/webhooks/{id}"): [("webhook", _WEBHOOK)],
    ("POST", "/api/v2/ticket_fields"): [("ticket_field", _FIELD)],
    ("PUT", "/api/v2/ticket_fields/{id}"): [("ticket_field", _FIELD)],
}

#: Query parameters that must be a comma-separated list of ids, or one non-negative integer.
_ID_LISTS = ("ids",)
_INTEGERS = ("page", "per_page")
#: Path parameters that are record ids (webhook and job ids are opaque strings; upload tokens too).
_NUMERIC_PATH = ("id", "cid", "iid")
_OPAQUE_ID_ROUTES = ("/api/v2/webhooks/", "/api/v2/job_statuses/")


def _label(field: str) -> str:
    base = field[:-3] if field.endswith("_id") else field[:-4] if field.endswith("_ids") else field
    return base.replace("_", " ").capitalize()


def _invalid(field: str, *, blank: bool = False) -> ApiError:
    text, code = ("cannot be blank", "BlankValue") if blank else ("is invalid", "InvalidValue")
    return ApiError(422, {"error": "RecordInvalid", "description": "Record validation errors",
                          "details": {field: [{"description": f"{_label(field)}: {text}", "error": code}]}})


def _check_object(obj: Any, checks: Mapping[str, Check], where: str) -> None:
    if not isinstance(obj, dict):
        raise bad_request("InvalidJSON", f"'{where}' must be a JSON object")
    for field, value in obj.items():
        check = checks.get(field)
        if check is None:
            continue
        if value is None and field in _REQUIRED_REFS:
            raise _invalid(field, blank=True)
        if not check(value):
            raise _invalid(field)
    comment = obj.get("comment")
    if where in ("ticket", "tickets[]", "request") and "comment" in obj:
        if isinstance(comment, str):
            return  # Zendesk takes ``"comment": "text"`` as the body
        if not isinstance(comment, dict):
            raise _invalid("comment")
        _check_object(comment, _COMMENT, "comment")


def _check_query(ctx: Ctx) -> None:
    for name in _ID_LISTS:
        raw = ctx.q(name)
        if raw is not None and not all(v.strip().isdigit() for v in raw.split(",") if v.strip()):
            raise bad_request("InvalidValue", f"{name} must be a comma-separated list of ids")
    for name in _INTEGERS:
        raw = ctx.q(name)
        if raw is not None and raw.strip() and not raw.strip().lstrip("-").isdigit():
            raise bad_request("InvalidValue", f"{name} must be an integer")


def validate_request(ctx: Ctx, params: Mapping[str, str]) -> None:
    """Refuse a malformed request with Zendesk's error; return quietly when its shape is usable."""
    if not ctx.route.startswith(_OPAQUE_ID_ROUTES):
        for name in _NUMERIC_PATH:
            if name in params and not params[name].isdigit():
                raise not_found()
    _check_query(ctx)
    specs = _BODIES.get((ctx.method, ctx.route))
    if specs is None:
        return
    body = ctx.json()
    for key, checks in specs:
        if key is None:
            _check_object(body, checks, "body")
        elif key.endswith("[]"):
            items = body.get(key[:-2])
            if items is None:
                continue
            if not isinstance(items, list):
                raise bad_request("InvalidJSON", f"'{key[:-2]}' must be a list")
            for item in items:
                _check_object(item, checks, key)
        elif key in body:
            _check_object(body[key], checks, key)
