"""An LLM-free ResponsesAgent for benchmarking the real MLflow agent server against mock-agent.

It answers like mock-agent's `echo` scenario: "You said: <last user text>", streamed as three
text deltas and an output_item.done event.
"""
from mlflow.genai.agent_server import AgentServer, invoke, stream
from mlflow.types.responses import (
    ResponsesAgentRequest,
    ResponsesAgentResponse,
    ResponsesAgentStreamEvent,
    create_text_delta,
    create_text_output_item,
)

ITEM = "msg_echo_1"


def last_user_text(request: ResponsesAgentRequest) -> str:
    for item in reversed(request.input):
        data = item.model_dump()
        if data.get("role") == "user" and isinstance(data.get("content"), str):
            return data["content"]
    return ""


@invoke()
async def answer(request: ResponsesAgentRequest) -> ResponsesAgentResponse:
    text = last_user_text(request)
    return ResponsesAgentResponse(output=[create_text_output_item(f"You said: {text}", ITEM)])


@stream()
async def answer_stream(request: ResponsesAgentRequest):
    text = last_user_text(request)
    for piece in ("You ", "said: ", text):
        yield ResponsesAgentStreamEvent(**create_text_delta(piece, ITEM))
    yield ResponsesAgentStreamEvent(
        type="response.output_item.done", item=create_text_output_item(f"You said: {text}", ITEM)
    )


app = AgentServer("ResponsesAgent").app
