"""The installed Parlant SDK, asked in a subprocess of the tests (tests/parlant_sdk).

    python real_sdk.py surface REQUEST.json ANSWER.json
    python real_sdk.py build REQUEST.json ANSWER.json

Run with PARLANT_HOME and the working directory in a temporary folder: importing
`parlant.sdk` creates its home folder, opens a log file there and appends it and "." to
`sys.path`, which is why the tests never import the real SDK in their own process.

`surface` describes the dotted names of the request (sdk_probes.describe). `build` starts a
real `parlant.sdk.Server` offline, on free ports, with a stand-in NLP service (schematic
generators that refuse to generate, the SDK's own zero-vector `NullEmbedder`, no moderation),
runs each exported script's `create_journey` on an agent of its own (recording every address
the process resolves or connects to), reads every journey back
from the server's JourneyStore and GuidelineStore, runs the misuse probes, and leaves the
server's block with an exception, so the server never serves (and never evaluates the
guidelines with a language model, which it does on a normal exit).
"""

import asyncio
import json
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Generic, TypeVar

import sdk_probes

T = TypeVar("T")


class _Leave(Exception):
    """Raised to leave the server's `async with` without serving."""


def surface(request: dict[str, Any]) -> dict[str, Any]:
    import parlant.sdk as sdk
    from parlant.core.version import VERSION

    return {
        "version": VERSION,
        "names": {name: sdk_probes.describe(sdk, name) for name in request["names"]},
    }


def _record_network(seen: list[list[Any]]) -> None:
    """Record every address this process resolves or connects to (an audit hook)."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.getaddrinfo":
            seen.append([event, str(args[0])])
        elif event == "socket.connect" and isinstance(args[1], tuple):
            seen.append([event, str(args[1][0])])

    sys.addaudithook(hook)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stand_in(calls: list[str]) -> Any:
    """An NLPService for construction only: it hands out generators that refuse to generate
    and records every call."""
    from parlant.core.nlp.embedding import NullEmbedder
    from parlant.core.nlp.generation import SchematicGenerator
    from parlant.core.nlp.moderation import NoModeration
    from parlant.core.nlp.service import NLPService

    class RefusingGenerator(SchematicGenerator[T], Generic[T]):
        async def generate(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("generate")
            raise RuntimeError("the stand-in NLP service has no language model")

        @property
        def id(self) -> str:
            return "stand-in"

        @property
        def max_tokens(self) -> int:
            return 1024

        @property
        def tokenizer(self) -> Any:
            return NullEmbedder().tokenizer

    class StandIn(NLPService):
        @property
        def supports_streaming(self) -> bool:
            return False

        async def get_schematic_generator(self, t: type[T], hints: Any = {}) -> Any:  # noqa: B006
            calls.append("get_schematic_generator")
            # Subscripted, as the real services do: the container keys generators by it.
            return RefusingGenerator[t]()  # type: ignore[valid-type]

        async def get_streaming_text_generator(self, hints: Any = {}) -> Any:  # noqa: B006
            calls.append("get_streaming_text_generator")
            raise NotImplementedError

        async def get_embedder(self, hints: Any = {}) -> Any:  # noqa: B006
            calls.append("get_embedder")
            return NullEmbedder()

        async def get_moderation_service(self) -> Any:
            calls.append("get_moderation_service")
            return NoModeration()

    return StandIn()


async def _read_back(server: Any, journey: Any, tools: dict[str, str]) -> dict[str, Any]:
    from parlant.core.guidelines import GuidelineStore
    from parlant.core.journeys import JourneyStore

    store = server.container[JourneyStore]
    core = await store.read_journey(journey.id)
    guidelines = server.container[GuidelineStore]
    states = []
    for node in await store.list_nodes(journey.id):
        if node.id == core.root_id:
            kind = "initial"
        elif node.id == JourneyStore.END_NODE_ID:
            kind = "end"
        else:
            kind = node.metadata["journey_node"]["kind"]
        states.append(
            {
                "id": node.id,
                "kind": kind,
                "action": node.action,
                "tools": [tools.get(t.tool_name, f"?{t.tool_name}") for t in node.tools],
                "services": [t.service_name for t in node.tools],
            }
        )
    return {
        "title": core.title,
        "description": core.description,
        "conditions": [
            (await guidelines.read_guideline(g)).content.condition for g in core.conditions
        ],
        "root": core.root_id,
        "end": JourneyStore.END_NODE_ID,
        "states": states,
        "transitions": [
            {"source": e.source, "target": e.target, "condition": e.condition}
            for e in await store.list_edges(journey.id)
        ],
    }


async def _stub_tools(sdk: Any, namespace: dict[str, Any]) -> dict[str, str]:
    """Each `@p.tool` stub of a script, by its tool name: the workflow tool it stands for
    (each stub raises NotImplementedError naming it)."""
    named: dict[str, str] = {}
    for value in namespace.values():
        if isinstance(value, sdk.ToolEntry):
            try:
                await value.function(sdk.ToolContext("agent", "session", "customer"))
            except NotImplementedError as error:
                named[value.tool.name] = str(error.args[0])
    return named


async def _build_all(request: dict[str, Any], answer: dict[str, Any]) -> None:
    import parlant.sdk as sdk
    from parlant.core.version import VERSION

    answer["version"] = VERSION
    calls: list[str] = []
    answer["nlp_calls"] = calls
    journeys: dict[str, Any] = {}
    answer["journeys"] = journeys
    probes: dict[str, str] = {}
    answer["probes"] = probes
    network: list[list[Any]] = []
    answer["network"] = network
    _record_network(network)
    started = time.monotonic()
    server = sdk.Server(
        host="127.0.0.1",
        port=_free_port(),
        tool_service_port=_free_port(),
        nlp_service=lambda container: _stand_in(calls),
        log_level=sdk.LogLevel.WARNING,
    )
    try:
        async with server:
            answer["seconds_to_start"] = round(time.monotonic() - started, 2)
            for n, item in enumerate(request["workflows"]):
                agent = await server.create_agent(name=f"agent {n}", description=item["key"])
                namespace: dict[str, Any] = {"__name__": f"parlant_export_{n}"}
                try:
                    code = compile(
                        item["code"], f"<export of {item['key']}>", "exec", dont_inherit=True
                    )
                    exec(code, namespace)
                    journey = await namespace["create_journey"](agent)
                    tools = await _stub_tools(sdk, namespace)
                    journeys[item["key"]] = await _read_back(server, journey, tools)
                except Exception:
                    journeys[item["key"]] = {"error": traceback.format_exc(limit=-4)}
            probe_agent = await server.create_agent(name="probes", description="misuse")

            async def new_journey(title: str) -> Any:
                return await probe_agent.create_journey(
                    title=title, description="a probe", conditions=[f"the customer asks {title}"]
                )

            for name in sdk_probes.PROBES:
                probes[name] = await sdk_probes.run_probe(sdk, name, new_journey)
            raise _Leave
    except _Leave:
        pass


def build(request: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    asyncio.run(_build_all(request, answer))
    return answer


def main() -> None:
    command, request_path, answer_path = sys.argv[1:4]
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    answer = {"surface": surface, "build": build}[command](request)
    Path(answer_path).write_text(json.dumps(answer, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
