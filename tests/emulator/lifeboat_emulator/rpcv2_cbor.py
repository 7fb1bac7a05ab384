"""CloudWatch over Smithy RPC v2 CBOR, the protocol today's AWS SDKs speak to it.

CloudWatch's service model lists `smithy-rpc-v2-cbor` first (then `json`, `query`), and the Rust
SDK (aws-sdk-cloudwatch 1.140) sends every call as `POST
/service/GraniteServiceVersion20100801/operation/<Operation>` with `smithy-protocol:
rpc-v2-cbor` and a CBOR body. moto 5.2.5 serves CloudWatch only as `query` and `json`, and
answers such a request with an HTML 404, so no CloudWatch call of the Rust SDK (PutMetricData,
GetMetricStatistics, GetMetricData, DescribeAlarms, SetAlarmState …) reached it.

Here such a request is translated, at the emulator's front door, into the `awsJson1_0` request
moto understands (`X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, the body decoded
from CBOR into JSON: timestamps — CBOR tag 1, epoch seconds — as epoch seconds, blobs as base64),
and moto's JSON answer back into the RPC v2 CBOR answer the SDK parses: the same status, a CBOR
body (shaped by the operation's output in botocore's model: timestamps as tag 1, doubles as
doubles), `smithy-protocol: rpc-v2-cbor` and `Content-Type: application/cbor`; an error's
`__type` and `message` as a CBOR map. The recorder sees the translated JSON request, whose action
`Emulator::calls_of` reads from `X-Amz-Target` as for any JSON service.
"""

import base64
import io
import json
from datetime import datetime
from typing import Any

from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer as CBORSerializer
from moto.core.utils import get_service_model
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

# The services translated: the Smithy service name in the path → the JSON target prefix.
SERVICES = {"GraniteServiceVersion20100801": ("cloudwatch", "GraniteServiceVersion20100801")}
PREFIX = "/service/"


def _decode(body: bytes) -> Any:
    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def _encode(value: Any, shape: Any) -> bytes:
    out = bytearray()
    CBORSerializer()._serialize_data_item(out, value, shape)
    return bytes(out)


def _encode_error(body: dict[str, Any]) -> bytes:
    """A CBOR map of strings (an error body; empty: an output with no members)."""
    serializer = CBORSerializer()
    out = bytearray()
    fields = {k: str(v) for k, v in body.items() if v is not None}
    count = len(fields)
    out.extend(serializer._get_initial_byte(serializer.MAP_MAJOR_TYPE, count))
    for key, text in fields.items():
        serializer._serialize_type_string(out, key, None, None)
        serializer._serialize_type_string(out, text, None, None)
    return bytes(out)


def _translate(app: Any, original: Any, environ: dict[str, Any], start_response: Any) -> Any:
    parts = environ.get("PATH_INFO", "")[len(PREFIX) :].split("/")
    if len(parts) != 3 or parts[1] != "operation" or parts[0] not in SERVICES:
        return original(app, environ, start_response)
    service, target = SERVICES[parts[0]]
    operation = parts[2]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    body = json.dumps(_to_json(_decode(raw))).encode()

    inner = dict(environ)
    inner["PATH_INFO"] = "/"
    inner["RAW_URI"] = inner["REQUEST_URI"] = "/"
    inner["CONTENT_TYPE"] = "application/x-amz-json-1.0"
    inner["CONTENT_LENGTH"] = str(len(body))
    inner["HTTP_X_AMZ_TARGET"] = f"{target}.{operation}"
    inner["wsgi.input"] = io.BytesIO(body)
    inner.pop("HTTP_SMITHY_PROTOCOL", None)

    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = status
        captured["headers"] = headers
        return lambda _data: None

    chunks = original(app, inner, capture)
    answer = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    status = captured.get("status", "500 Internal Server Error")
    code = int(status.split(" ", 1)[0])
    try:
        parsed = json.loads(answer) if answer.strip() else {}
    except ValueError:
        parsed = {"__type": "InternalFailure", "message": answer.decode(errors="replace")}
    if code < 300:
        model = get_service_model(service).operation_model(operation)
        shape = model.output_shape
        data = _encode(parsed, shape) if shape is not None else _encode_error({})
    else:
        error = parsed if isinstance(parsed, dict) else {"__type": "InternalFailure"}
        data = _encode_error(
            {
                "__type": error.get("__type"),
                "message": error.get("message") or error.get("Message"),
            }
        )
    headers = [
        (k, v)
        for k, v in captured.get("headers", [])
        if k.lower() not in ("content-type", "content-length")
    ]
    headers += [
        ("Content-Type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("Content-Length", str(len(data))),
    ]
    start_response(status, headers)
    return [data]


def install() -> None:
    if getattr(DomainDispatcherApplication, "_lifeboat_rpcv2_cbor", False):
        return
    original = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith(PREFIX) and "rpc-v2-cbor" in environ.get(
            "HTTP_SMITHY_PROTOCOL", ""
        ):
            return _translate(self, original, environ, start_response)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]
    DomainDispatcherApplication._lifeboat_rpcv2_cbor = True  # type: ignore[attr-defined]
