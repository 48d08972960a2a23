"""Every choice this Graph simulator makes that reference/lms-apis.md §3 does not settle.

Confirmed there (and reproduced without a note): ``contentCategory: people``; exactly one
``personAccount`` property; labels ``personCertifications`` / ``personAwards`` on
``stringCollection`` properties; every labelled value a JSON string of the profile entity,
invalid ones ignored; items matching no user ignored; the ACL grants everyone; ``PUT`` creates
or replaces an item, ``DELETE`` removes it; item ids alphanumeric, at most 128 characters.

Chosen here (from Graph's general documentation or invented; check against a real tenant):
"""

from __future__ import annotations

import re

# --- OAuth 2 (client credentials, v2.0 endpoint) --------------------------------------------
# POST /{tenant}/oauth2/v2.0/token on the simulator's own host (login.microsoftonline.com in
# production); scope must be https://graph.microsoft.com/.default. Lifetime 3599 s.
TOKEN_LIFETIME = 3599.0
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# Application permissions (roles) each route needs; the token carries the granted ones.
USERS_ROLE = "User.Read.All"
CONNECTION_ROLE = "ExternalConnection.ReadWrite.OwnedBy"
ITEM_ROLE = "ExternalItem.ReadWrite.OwnedBy"
DEFAULT_ROLES = (USERS_ROLE, CONNECTION_ROLE, ITEM_ROLE)

# --- users ------------------------------------------------------------------------------
# $top default 100, maximum 999; @odata.nextLink carries a $skiptoken. Without $select only the
# default properties come back: accountEnabled and assignedLicenses must be selected.
USERS_DEFAULT_TOP = 100
USERS_MAX_TOP = 999
USER_DEFAULT_PROPERTIES = ("id", "displayName", "givenName", "surname", "mail", "userPrincipalName")
# $filter, $search, $orderby and $count on /users are refused (400): a client must not need them.

# --- connections and schema ---------------------------------------------------------------
# Connection id: 3-32 alphanumeric characters, not starting with "Microsoft" (Graph docs for
# externalConnection; not in the reference).
CONNECTION_ID = re.compile(r"^[A-Za-z0-9]{3,32}$")
RESERVED_CONNECTION_PREFIX = "microsoft"
# POST /external/connections answers 201; a second POST with the same id answers 409.
# PATCH .../schema answers 202 with a Location header of the operation; the operation is
# "inprogress" for SCHEMA_POLLS_IN_PROGRESS polls, then "completed". A schema that is not
# completed yet refuses item writes with 409. A second schema PATCH after completion is 409
# (people connectors have a fixed schema).
SCHEMA_POLLS_IN_PROGRESS = 1
PROPERTY_TYPES = ("string", "stringCollection", "int64", "double", "dateTime", "boolean")
PROFILE_LABELS = {
    "personAccount": "string",
    "personCertifications": "stringCollection",
    "personAwards": "stringCollection",
}

# --- items ----------------------------------------------------------------------------------
ITEM_ID = re.compile(r"^[A-Za-z0-9]{1,128}$")
# PUT answers 200 with the item; DELETE answers 204, and 404 when no such item exists.
# A property missing from the schema, a collection without its "<name>@odata.type":
# "Collection(String)" annotation, or an ACL without an "everyone" grant is refused with 400.
# Labelled values that are not a JSON object of the entity are stored but IGNORED (recorded in
# the item's ``ignored`` list, as the reference says the platform ignores invalid JSON).
# Fields allowed per entity (§3.1); an unknown field makes the value invalid.
ACCOUNT_FIELDS = frozenset({"userPrincipalName", "externalDirectoryObjectId"})
CERTIFICATION_FIELDS = frozenset(
    {
        "certificationId",
        "description",
        "displayName",
        "endDate",
        "issuedDate",
        "startDate",
        "issuingAuthority",
        "issuingCompany",
        "thumbnailUrl",
        "webUrl",
    }
)
AWARD_FIELDS = frozenset(
    {"description", "displayName", "issuedDate", "issuingAuthority", "thumbnailUrl", "webUrl"}
)
REQUIRED_ENTITY_FIELD = "displayName"
DATE_FIELDS = frozenset({"endDate", "issuedDate", "startDate"})  # YYYY-MM-DD

# --- throttling -------------------------------------------------------------------------------
# Graph publishes no fixed ingestion limit for connectors. Off by default; with
# ``throttle_every = n`` every n-th item write (PUT/DELETE) answers 429 with Retry-After
# THROTTLE_RETRY_AFTER seconds (deterministic, so tests with instant retries stay exact). 503
# with Retry-After comes from the shared fault injection.
THROTTLE_RETRY_AFTER = 2
