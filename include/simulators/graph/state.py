"""One Entra tenant as the Graph simulator keeps it: the app registration and its tokens, the
users, and the people-data external connections with their schema, operations and items."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from include.simulators.common.oauth import OAuthRefusal
from include.simulators.graph import unconfirmed as u


class GraphRefusal(Exception):
    """A Graph error answer: ``{"error": {"code": ..., "message": ...}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass
class User:
    id: str
    displayName: str
    userPrincipalName: str
    mail: str | None
    accountEnabled: bool = True
    assignedLicenses: list[dict[str, Any]] = field(default_factory=list)
    givenName: str | None = None
    surname: str | None = None

    def to_json(self, select: tuple[str, ...]) -> dict[str, Any]:
        return {name: getattr(self, name, None) for name in ("id", *select) if hasattr(self, name)}


@dataclass
class Item:
    """A stored external item; ``ignored`` lists the labelled values the platform would drop,
    ``user_id`` the user whose profile it feeds (None: no user matched, the item is ignored)."""

    id: str
    acl: list[dict[str, Any]]
    properties: dict[str, Any]
    ignored: list[str]
    user_id: str | None
    certifications: list[dict[str, Any]]
    awards: list[dict[str, Any]]
    version: int = 1


@dataclass
class Connection:
    id: str
    name: str
    description: str
    content_category: str
    schema: list[dict[str, Any]] | None = None
    schema_status: str = "none"  # none, inprogress, completed
    items: dict[str, Item] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        state = "ready" if self.schema_status == "completed" else "draft"
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "contentCategory": self.content_category,
            "state": state,
        }


@dataclass
class Operation:
    id: str
    connection_id: str
    polls_left: int


class GraphState:
    """Thread-safe tenant state (the server runs routes on worker threads)."""

    def __init__(self, tenant_id: str, client_id: str, client_secret: str) -> None:
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.roles: tuple[str, ...] = u.DEFAULT_ROLES
            self.token_lifetime = u.TOKEN_LIFETIME
            self.tokens: dict[str, tuple[float, tuple[str, ...]]] = {}
            self.users: dict[str, User] = {}
            self.connections: dict[str, Connection] = {}
            self.operations: dict[str, Operation] = {}
            self.throttle_every: int | None = None
            self.throttle_retry_after: float = u.THROTTLE_RETRY_AFTER
            self.item_writes = 0

    # --- tokens -------------------------------------------------------------------------------

    def grant(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        if tenant != self.tenant_id:
            raise OAuthRefusal(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            raise OAuthRefusal(400, "unsupported_grant_type", "AADSTS70003: grant_type is not supported.")
        if form.get("client_id") != self.client_id:
            raise OAuthRefusal(400, "unauthorized_client", "AADSTS700016: Application not found.")
        if form.get("client_secret") != self.client_secret:
            raise OAuthRefusal(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        if form.get("scope") != u.GRAPH_SCOPE:
            raise OAuthRefusal(400, "invalid_scope", f"AADSTS1002012: scope must be {u.GRAPH_SCOPE}.")
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (time.time() + self.token_lifetime, self.roles)
        return {"token_type": "Bearer", "expires_in": int(self.token_lifetime), "access_token": token}

    def check(self, authorization: str | None, role: str) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            entry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None or entry[0] <= time.time():
            raise GraphRefusal(401, "InvalidAuthenticationToken", "Access token is empty or expired.")
        if role not in entry[1]:
            raise GraphRefusal(403, "Authorization_RequestDenied", f"Insufficient privileges: needs {role}.")

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: (0.0, roles) for token, (_, roles) in self.tokens.items()}

    # --- users --------------------------------------------------------------------------------

    def add_user(self, upn: str, mail: str | None = None, **fields: Any) -> User:
        with self.lock:
            user_id = fields.pop("id", None) or str(uuid.uuid5(uuid.NAMESPACE_DNS, upn.lower()))
            name = fields.pop("displayName", None) or upn.split("@")[0]
            user = User(id=user_id, displayName=name, userPrincipalName=upn, mail=mail, **fields)
            self.users[user.id] = user
            return user

    def users_page(
        self, select: tuple[str, ...], top: int, skip: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of users and the offset of the next page (None at the end)."""
        with self.lock:
            users = list(self.users.values())
        page = [user.to_json(select) for user in users[skip : skip + top]]
        return page, (skip + top if skip + top < len(users) else None)

    # --- connections and schema ---------------------------------------------------------------

    def create_connection(self, body: dict[str, Any]) -> Connection:
        connection_id = str(body.get("id") or "")
        if not u.CONNECTION_ID.match(connection_id) or connection_id.lower().startswith(
            u.RESERVED_CONNECTION_PREFIX
        ):
            raise GraphRefusal(400, "InvalidRequest", f"Invalid connection id '{connection_id}'.")
        if not body.get("name"):
            raise GraphRefusal(400, "InvalidRequest", "name is required.")
        with self.lock:
            if connection_id in self.connections:
                raise GraphRefusal(409, "Conflict", f"Connection '{connection_id}' already exists.")
            connection = Connection(
                connection_id,
                str(body["name"]),
                str(body.get("description") or ""),
                str(body.get("contentCategory") or "uncategorized"),
            )
            self.connections[connection_id] = connection
            return connection

    def connection(self, connection_id: str) -> Connection:
        with self.lock:
            connection = self.connections.get(connection_id)
        if connection is None:
            raise GraphRefusal(404, "itemNotFound", f"Connection '{connection_id}' not found.")
        return connection

    def register_schema(self, connection_id: str, body: dict[str, Any]) -> Operation:
        """Validate the schema (people rules of §3.2) and start its provisioning operation."""
        connection = self.connection(connection_id)
        properties = body.get("properties")
        if body.get("baseType") != "microsoft.graph.externalItem" or not isinstance(properties, list):
            raise GraphRefusal(
                400, "InvalidRequest", "baseType microsoft.graph.externalItem and properties[] needed."
            )
        _check_schema(connection, properties)
        with self.lock:
            if connection.schema_status != "none":
                raise GraphRefusal(409, "Conflict", "The schema of this connection is already registered.")
            connection.schema = properties
            connection.schema_status = "inprogress"
            operation = Operation(str(uuid.uuid4()), connection_id, u.SCHEMA_POLLS_IN_PROGRESS)
            self.operations[operation.id] = operation
            if operation.polls_left <= 0:
                connection.schema_status = "completed"
            return operation

    def poll(self, connection_id: str, operation_id: str) -> dict[str, Any]:
        with self.lock:
            operation = self.operations.get(operation_id)
            if operation is None or operation.connection_id != connection_id:
                raise GraphRefusal(404, "itemNotFound", f"Operation '{operation_id}' not found.")
            if operation.polls_left > 0:
                operation.polls_left -= 1
                return {"id": operation.id, "status": "inprogress", "error": None}
            self.connections[connection_id].schema_status = "completed"
            return {"id": operation.id, "status": "completed", "error": None}

    # --- items --------------------------------------------------------------------------------

    def put_item(self, connection_id: str, item_id: str, body: dict[str, Any]) -> Item:
        connection = self._writable(connection_id, item_id)
        acl, properties = body.get("acl"), body.get("properties")
        if not isinstance(properties, dict):
            raise GraphRefusal(400, "InvalidRequest", "properties is required.")
        if not isinstance(acl, list) or not any(
            isinstance(e, dict) and e.get("type") == "everyone" and e.get("accessType") == "grant"
            for e in acl
        ):
            raise GraphRefusal(400, "InvalidRequest", "A people connector item's acl must grant everyone.")
        schema = {prop["name"]: prop for prop in connection.schema or []}
        item = Item(item_id, acl, properties, [], None, [], [])
        for name, value in properties.items():
            if name.endswith("@odata.type"):
                continue
            prop = schema.get(name)
            if prop is None:
                raise GraphRefusal(400, "InvalidRequest", f"Property '{name}' is not in the schema.")
            _check_type(name, prop["type"], value, properties)
            for label in prop.get("labels") or []:
                self._read_label(item, label, value)
        with self.lock:
            self._count_write()
            previous = connection.items.get(item_id)
            item.version = previous.version + 1 if previous else 1
            connection.items[item_id] = item
        return item

    def delete_item(self, connection_id: str, item_id: str) -> None:
        connection = self._writable(connection_id, item_id)
        with self.lock:
            self._count_write()
            if connection.items.pop(item_id, None) is None:
                raise GraphRefusal(404, "itemNotFound", f"Item '{item_id}' not found.")

    def item(self, connection_id: str, item_id: str) -> Item:
        item = self.connection(connection_id).items.get(item_id)
        if item is None:
            raise GraphRefusal(404, "itemNotFound", f"Item '{item_id}' not found.")
        return item

    def profile(self, upn: str) -> dict[str, list[dict[str, Any]]]:
        """What the people-data connectors put on this user's profile (items that matched)."""
        with self.lock:
            user = next((x for x in self.users.values() if x.userPrincipalName.lower() == upn.lower()), None)
            items = [
                item
                for connection in self.connections.values()
                for item in connection.items.values()
                if user is not None and item.user_id == user.id
            ]
        return {
            "certifications": [c for item in items for c in item.certifications],
            "awards": [a for item in items for a in item.awards],
        }

    # --- internals ----------------------------------------------------------------------------

    def _writable(self, connection_id: str, item_id: str) -> Connection:
        connection = self.connection(connection_id)
        if not u.ITEM_ID.match(item_id):
            raise GraphRefusal(400, "InvalidRequest", "Item id must be alphanumeric, at most 128 characters.")
        if connection.schema_status != "completed":
            raise GraphRefusal(409, "Conflict", "The connection's schema is not ready.")
        return connection

    def _count_write(self) -> None:
        self.item_writes += 1
        if self.throttle_every and self.item_writes % self.throttle_every == 0:
            raise GraphRefusal(
                429, "TooManyRequests", "Too many requests.", retry_after=self.throttle_retry_after
            )

    def _read_label(self, item: Item, label: str, value: Any) -> None:
        """Parse a labelled value as the platform does: invalid JSON or shape -> ignored."""
        if label == "personAccount":
            account = _entity(value, u.ACCOUNT_FIELDS, required=None)
            if account is None or not (
                account.get("userPrincipalName") or account.get("externalDirectoryObjectId")
            ):
                item.ignored.append(f"{label}: {value!r}")
                return
            item.user_id = self._match_user(account)
            if item.user_id is None:
                item.ignored.append(f"{label}: no user {value}")
            return
        fields = u.CERTIFICATION_FIELDS if label == "personCertifications" else u.AWARD_FIELDS
        target = item.certifications if label == "personCertifications" else item.awards
        for text in value:
            entity = _entity(text, fields, required=u.REQUIRED_ENTITY_FIELD)
            if entity is None:
                item.ignored.append(f"{label}: {text!r}")
            else:
                target.append(entity)

    def _match_user(self, account: dict[str, Any]) -> str | None:
        upn = str(account.get("userPrincipalName") or "").lower()
        object_id = account.get("externalDirectoryObjectId")
        with self.lock:
            for user in self.users.values():
                if user.id == object_id or (upn and user.userPrincipalName.lower() == upn):
                    return user.id
        return None


def _check_schema(connection: Connection, properties: list[Any]) -> None:
    if connection.content_category != "people":
        raise GraphRefusal(
            400, "InvalidRequest", "Profile labels need a connection with contentCategory people."
        )
    names: set[str] = set()
    accounts = 0
    for prop in properties:
        if not isinstance(prop, dict) or not prop.get("name") or prop.get("type") not in u.PROPERTY_TYPES:
            raise GraphRefusal(400, "InvalidRequest", f"Invalid schema property {prop!r}.")
        if prop["name"] in names:
            raise GraphRefusal(400, "InvalidRequest", f"Duplicate schema property '{prop['name']}'.")
        names.add(prop["name"])
        for label in prop.get("labels") or []:
            wanted = u.PROFILE_LABELS.get(label)
            if wanted is None:
                raise GraphRefusal(400, "InvalidRequest", f"Unknown label '{label}'.")
            if prop["type"] != wanted:
                raise GraphRefusal(400, "InvalidRequest", f"Label '{label}' needs type {wanted}.")
            accounts += label == "personAccount"
    if accounts != 1:
        raise GraphRefusal(
            400,
            "InvalidRequest",
            f"A people schema needs exactly one personAccount property, not {accounts}.",
        )


def _check_type(name: str, kind: str, value: Any, properties: dict[str, Any]) -> None:
    if kind == "stringCollection":
        if properties.get(f"{name}@odata.type") != "Collection(String)":
            raise GraphRefusal(
                400, "InvalidRequest", f"'{name}' needs '{name}@odata.type': 'Collection(String)'."
            )
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise GraphRefusal(400, "InvalidRequest", f"'{name}' must be a collection of strings.")
    elif kind == "string" and not isinstance(value, str):
        raise GraphRefusal(400, "InvalidRequest", f"'{name}' must be a string.")


def _entity(text: Any, fields: frozenset[str], required: str | None) -> dict[str, Any] | None:
    """The JSON object in ``text`` when it is a valid entity of ``fields``, else None."""
    try:
        entity = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if not isinstance(entity, dict) or set(entity) - fields:
        return None
    if required and not entity.get(required):
        return None
    for name in u.DATE_FIELDS & set(entity):
        try:
            date.fromisoformat(str(entity[name]))
        except ValueError:
            return None
    return entity
