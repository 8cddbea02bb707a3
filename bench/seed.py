"""Seeds the capacity benchmark's data in bulk (bench/scale.sh runs it from bench/.venv).

Every seeded document is a copy of one the server itself stored, so it has exactly the stored
shape: the template user (made by `portcullis user add`), the refresh-token family its password
grant began, and the revocation record of an access token revoked through /oauth/revoke. Only
ids, names, hashes and times change.

    seed.py users       URI DB TEMPLATE_KEY PREFIX START END
    seed.py families    URI DB TEMPLATE_KEY PREFIX START END USER_PREFIX USERS
    seed.py revocations URI DB START END

Inserts the documents numbered START .. END-1 in batches and prints one JSON line: how many
and how long it took.
"""

import base64
import datetime
import hashlib
import json
import os
import random
import sys
import time

from bson import ObjectId
from pymongo import MongoClient

BATCH = 10_000
# Seeded revocations are spread over the hour before seeding, as a steady stream would leave
# them, and outlive the run: a record of an access token lives until the token's expiry.
REVOKED_OVER = datetime.timedelta(hours=1)
LIVES_ON = datetime.timedelta(hours=3)


def skeleton(key):
    """The UTS #39 skeleton src/username.rs stores, for the names seeded here ([a-z0-9._-]):
    in that range the confusables table maps only `0` to `O`, `1` to `l` and `m` to `rn`, and
    the result is lower-cased."""
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in key), key
    return key.replace("m", "rn").replace("0", "o").replace("1", "l").lower()


def b64_sha256(text):
    """src/secrets.rs's `sha256_b64`: how a refresh token is stored."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def random_id():
    """src/secrets.rs's `random_id`: 128 random bits, base64url without padding."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def now():
    # BSON dates hold milliseconds, as the server's `Timestamp` does.
    at = datetime.datetime.now(datetime.timezone.utc)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def insert(collection, make, start, end):
    started = time.monotonic()
    for first in range(start, end, BATCH):
        batch = [make(n) for n in range(first, min(first + BATCH, end))]
        collection.insert_many(batch, ordered=False)
    took = time.monotonic() - started
    print(json.dumps({"collection": collection.name, "inserted": end - start,
                      "seconds": round(took, 1)}))


def template_user(db, key):
    user = db.users.find_one({"username_key": key})
    if user is None:
        sys.exit(f"no template user {key!r}")
    if user["username_skeleton"] != skeleton(key):
        sys.exit(f"skeleton() disagrees with the server on {key!r}: {user['username_skeleton']!r}")
    return user


def users(db, key, prefix, start, end):
    template = template_user(db, key)
    at = now()

    def make(n):
        name = f"{prefix}{n}"
        return {**template, "_id": ObjectId(), "username": name, "username_key": name,
                "username_skeleton": skeleton(name), "created_at": at, "updated_at": at}

    insert(db.users, make, start, end)


def families(db, key, prefix, start, end, user_prefix, user_count):
    user = template_user(db, key)
    template = db.refresh_families.find_one({"user_id": str(user["_id"])})
    if template is None:
        sys.exit("no template refresh family (sign the template user in first)")
    # The seeded users' ids, so every family belongs to an account that exists.
    owners = [str(u["_id"]) for u in db.users.find(
        {"username_key": {"$regex": f"^{prefix_pattern(user_prefix)}"}}, {"_id": 1})]
    if len(owners) < user_count:
        sys.exit(f"expected {user_count} seeded users, found {len(owners)}")
    at = now()
    # Each family keeps the template's lifetimes, counted from now.
    idle = template["current_expires_at"] - template["created_at"]
    absolute = template["expires_at"] - template["created_at"]
    for spent in ("previous", "previous_spent_at", "revoked_at", "revocation"):
        template.pop(spent, None)

    if template.get("sign_in"):
        template["sign_in"] = {**template["sign_in"], "auth_time": at}

    def make(n):
        return {**template, "_id": random_id(), "user_id": owners[n % len(owners)],
                "current": b64_sha256(f"{prefix}{n}"), "rotated_at": at,
                "current_expires_at": at + idle, "expires_at": at + absolute,
                "created_at": at, "spent": [], "revoked": False}

    insert(db.refresh_families, make, start, end)


def prefix_pattern(prefix):
    return "".join(c if c.isalnum() else "\\" + c for c in prefix)


def revocations(db, start, end):
    template = db.revocations.find_one({"_id": {"$regex": "^jti:"}})
    if template is None:
        sys.exit("no template revocation (revoke an access token first)")
    at = now()
    spread = REVOKED_OVER.total_seconds()

    def make(n):
        revoked_at = at - datetime.timedelta(seconds=random.uniform(0, spread))
        revoked_at = revoked_at.replace(microsecond=revoked_at.microsecond // 1000 * 1000)
        return {**template, "_id": f"jti:{random_id()}", "revoked_at": revoked_at,
                "expires_at": revoked_at + LIVES_ON}

    insert(db.revocations, make, start, end)


def main():
    kind, uri, database, *rest = sys.argv[1:]
    db = MongoClient(uri, tz_aware=True)[database]
    if kind == "users":
        key, prefix, start, end = rest
        users(db, key, prefix, int(start), int(end))
    elif kind == "families":
        key, prefix, start, end, user_prefix, user_count = rest
        families(db, key, prefix, int(start), int(end), user_prefix, int(user_count))
    elif kind == "revocations":
        start, end = rest
        revocations(db, int(start), int(end))
    else:
        sys.exit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    main()
