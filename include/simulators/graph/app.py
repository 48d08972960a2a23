"""The Graph routes the profile export uses (lms-apis.md §3), the token endpoint, ``/_admin``
routes, and the assembly with fault injection into one :class:`GraphSimulator`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from include.simulators.common.inflight import InflightCounter, count_inflight
from include.simulators.common.oauth import answer_oauth_refusals
from include.simulators.common.server import SimulatorControl, install_control, simulator_app
from include.simulators.graph import unconfirmed as u
from include.simulators.graph.state import GraphRefusal, GraphState

CONNECTIONS = "/v1.0/external/connections"
GRAPH_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


def error_body(status: int, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Graph's error envelope, also used by fault injection."""
    code = code or GRAPH_CODES.get(status, "generalException")
    return {"error": {"code": code, "message": message or code, "innerError": {"request-id": "simulated"}}}


@dataclass
class GraphSimulator:
    state: GraphState
    control: SimulatorControl
    inflight: InflightCounter
    app: FastAPI


def build_simulator(tenant_id: str, client_id: str, client_secret: str) -> GraphSimulator:
    """A fresh tenant with one app registration granted the default application roles."""
    state = GraphState(tenant_id, client_id, client_secret)
    control = SimulatorControl()
    app = simulator_app("Microsoft Graph simulator", on_shutdown=lambda: None)

    @app.exception_handler(GraphRefusal)
    async def refusal(_: Request, exc: GraphRefusal) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return JSONResponse(error_body(exc.status, exc.code, exc.message), exc.status, headers=headers)

    answer_oauth_refusals(app)  # the identity platform's errors are in the RFC 6749 form

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> dict[str, Any]:
        form = await request.form()
        return state.grant(tenant, {key: str(value) for key, value in form.items()})

    app.include_router(api_router(state))
    app.include_router(admin_router(state))
    install_control(app, control, error_body)
    inflight = count_inflight(app)
    return GraphSimulator(state, control, inflight, app)


def api_router(state: GraphState) -> APIRouter:
    router = APIRouter()

    @router.get("/v1.0/users")
    def list_users(request: Request) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.USERS_ROLE)
        query = request.query_params
        refused = {"$filter", "$search", "$orderby", "$count"} & set(query)
        if refused:
            raise GraphRefusal(400, "Request_UnsupportedQuery", f"Not supported here: {', '.join(refused)}.")
        select = tuple(s for s in (query.get("$select") or "").split(",") if s) or u.USER_DEFAULT_PROPERTIES
        try:
            top = int(query.get("$top", u.USERS_DEFAULT_TOP))
            skip = int(query.get("$skiptoken", 0))
        except ValueError:
            raise GraphRefusal(400, "Request_BadRequest", "Invalid $top or $skiptoken.") from None
        if not 1 <= top <= u.USERS_MAX_TOP:
            raise GraphRefusal(400, "Request_BadRequest", f"$top must be 1..{u.USERS_MAX_TOP}.")
        page, next_skip = state.users_page(select, top, skip)
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
            "value": page,
        }
        if next_skip is not None:
            params = {**dict(query), "$top": str(top), "$skiptoken": str(next_skip)}
            body["@odata.nextLink"] = str(request.url.replace_query_params(**params))
        return body

    @router.post(CONNECTIONS, status_code=201)
    def create_connection(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.CONNECTION_ROLE)
        return state.create_connection(body).to_json()

    @router.get(CONNECTIONS + "/{connection_id}")
    def get_connection(request: Request, connection_id: str) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.CONNECTION_ROLE)
        return state.connection(connection_id).to_json()

    @router.get(CONNECTIONS + "/{connection_id}/schema")
    def get_schema(request: Request, connection_id: str) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.CONNECTION_ROLE)
        connection = state.connection(connection_id)
        if connection.schema is None:
            raise GraphRefusal(404, "itemNotFound", "The connection has no schema.")
        return {
            "baseType": "microsoft.graph.externalItem",
            "properties": connection.schema,
            "status": connection.schema_status,
        }

    @router.patch(CONNECTIONS + "/{connection_id}/schema", status_code=202)
    def register_schema(
        request: Request, response: Response, connection_id: str, body: dict[str, Any] = Body(...)
    ) -> None:
        state.check(request.headers.get("authorization"), u.CONNECTION_ROLE)
        operation = state.register_schema(connection_id, body)
        base = str(request.base_url).rstrip("/")
        response.headers["Location"] = f"{base}{CONNECTIONS}/{connection_id}/operations/{operation.id}"

    @router.get(CONNECTIONS + "/{connection_id}/operations/{operation_id}")
    def get_operation(request: Request, connection_id: str, operation_id: str) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.CONNECTION_ROLE)
        return state.poll(connection_id, operation_id)

    @router.put(CONNECTIONS + "/{connection_id}/items/{item_id}")
    def put_item(
        request: Request, connection_id: str, item_id: str, body: dict[str, Any] = Body(...)
    ) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.ITEM_ROLE)
        item = state.put_item(connection_id, item_id, body)
        return {"id": item.id, "acl": item.acl, "properties": item.properties}

    @router.get(CONNECTIONS + "/{connection_id}/items/{item_id}")
    def get_item(request: Request, connection_id: str, item_id: str) -> dict[str, Any]:
        state.check(request.headers.get("authorization"), u.ITEM_ROLE)
        item = state.item(connection_id, item_id)
        return {"id": item.id, "acl": item.acl, "properties": item.properties}

    @router.delete(CONNECTIONS + "/{connection_id}/items/{item_id}", status_code=204)
    def delete_item(request: Request, connection_id: str, item_id: str) -> Response:
        state.check(request.headers.get("authorization"), u.ITEM_ROLE)
        state.delete_item(connection_id, item_id)
        return Response(status_code=204)

    return router


def admin_router(state: GraphState) -> APIRouter:
    """No auth, no faults: how tests and the demo change the tenant and look at profiles."""
    router = APIRouter(prefix="/_admin", tags=["admin"])

    @router.post("/reset", status_code=204)
    def reset() -> Response:
        state.reset()
        return Response(status_code=204)

    @router.post("/users", status_code=201)
    def add_user(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        fields = {k: v for k, v in body.items() if k not in ("userPrincipalName", "mail")}
        user = state.add_user(str(body["userPrincipalName"]), body.get("mail"), **fields)
        return user.to_json(
            ("displayName", "userPrincipalName", "mail", "accountEnabled", "assignedLicenses")
        )

    @router.put("/throttle")
    def throttle(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"every": n, "retry_after": s}``: every n-th item write answers 429 (null: off)."""
        state.throttle_every = body.get("every")
        state.throttle_retry_after = float(body.get("retry_after", state.throttle_retry_after))
        return {"every": state.throttle_every, "retry_after": state.throttle_retry_after}

    @router.put("/roles")
    def roles(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"roles": [...]}``: the application roles granted to tokens issued from now on."""
        state.roles = tuple(body["roles"])
        return {"roles": list(state.roles)}

    @router.get("/profiles/{upn}")
    def profile(upn: str) -> dict[str, Any]:
        return state.profile(upn)

    return router
