"""The prod tier's network, loaded by every function it starts (this folder is on the child's PYTHONPATH).

It plays the network and nothing else: connections to Google's API hosts (`*.googleapis.com`) land on the
tier's loopback stand-ins (and the metadata server's names, which firebase_admin also calls directly, land on
the tier's metadata server), the Firestore gRPC channel lands on the Firestore emulator over
`grpc.local_channel_credentials()` instead of TLS, with the function's real call credentials (google-auth's
metadata plugin, run for every call; the emulator grants admin to `Bearer owner`), loopback stays loopback, and
any other destination is refused at once, as a network without it would. No setting, client or code path of
the functions is changed: they build the same requests, credentials and channels as on Google's servers.

PRODTEST_GOOGLE_APIS (host:port of the HTTP stand-ins) and PRODTEST_FIRESTORE_GRPC (host:port of the
Firestore emulator) say where; the original host travels in the Host header, as it would on the wire.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

GOOGLE_APIS = os.environ.get("PRODTEST_GOOGLE_APIS", "")
FIRESTORE_GRPC = os.environ.get("PRODTEST_FIRESTORE_GRPC", "")
METADATA = os.environ.get("GCE_METADATA_HOST", "")  # google-auth's own switch; the tier's metadata server
METADATA_HOSTS = {"metadata.google.internal", "metadata", "169.254.169.254"}  # what GCE resolves to its server
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class NoRoute(OSError):
    """A destination the prod tier's network does not reach."""


def _is_google(host: str) -> bool:
    return host == "googleapis.com" or host.endswith(".googleapis.com")


def rewrite(url: str) -> tuple[str, str | None]:
    """(the URL to connect to, the Host header to send) for a URL a function asked for."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in LOOPBACK or host.startswith("127."):
        return url, None
    if _is_google(host) and GOOGLE_APIS:
        return urlunsplit(("http", GOOGLE_APIS, parts.path, parts.query, parts.fragment)), parts.netloc
    if host in METADATA_HOSTS and METADATA:
        return urlunsplit(("http", METADATA, parts.path, parts.query, parts.fragment)), parts.netloc
    raise NoRoute(f"prod tier network: no route to {host or url}")


def _patch_requests() -> None:
    try:
        from requests import adapters, exceptions
    except ImportError:
        return
    original = adapters.HTTPAdapter.send

    def send(self: adapters.HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            url, host = rewrite(request.url)
        except NoRoute as error:
            raise exceptions.ConnectionError(str(error), request=request) from error
        if host is not None:
            request.url = url
            request.headers["Host"] = host
        return original(self, request, *args, **kwargs)

    adapters.HTTPAdapter.send = send  # type: ignore[method-assign]


def _patch_httpx() -> None:
    try:
        import httpx
    except ImportError:
        return

    def route(request: httpx.Request) -> None:
        try:
            url, host = rewrite(str(request.url))
        except NoRoute as error:
            raise httpx.ConnectError(str(error), request=request) from error
        if host is not None:
            request.url = httpx.URL(url)
            request.headers["Host"] = host

    handle, handle_async = httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self, request):
        route(request)
        return handle(self, request)

    async def handle_async_request(self, request):
        route(request)
        return await handle_async(self, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def _patch_grpc() -> None:
    try:
        import grpc
    except ImportError:
        return
    import collections

    metadata_call = grpc.metadata_call_credentials
    composite = grpc.composite_channel_credentials
    compute_engine = grpc.compute_engine_channel_credentials
    secure_channel = grpc.secure_channel

    def metadata_call_credentials(plugin, name=None):
        credentials = metadata_call(plugin, name)
        credentials._prodtest_plugin = plugin  # google-auth's AuthMetadataPlugin of the function's credentials
        return credentials

    def composite_channel_credentials(channel_credentials, *call_credentials):
        combined = composite(channel_credentials, *call_credentials)
        combined._prodtest_plugins = [getattr(c, "_prodtest_plugin", None) for c in call_credentials]
        return combined

    def compute_engine_channel_credentials(call_credentials):
        combined = compute_engine(call_credentials)
        combined._prodtest_plugins = [getattr(call_credentials, "_prodtest_plugin", None)]
        return combined

    Context = collections.namedtuple("Context", "service_url method_name")  # grpc.AuthMetadataContext

    class Details(
        collections.namedtuple("Details", "method timeout metadata credentials wait_for_ready compression"),
        grpc.ClientCallDetails,
    ):
        pass

    class CallCredentials(
        grpc.UnaryUnaryClientInterceptor,
        grpc.UnaryStreamClientInterceptor,
        grpc.StreamUnaryClientInterceptor,
        grpc.StreamStreamClientInterceptor,
    ):
        """Runs the channel's call-credential plugins for each call, as gRPC does over TLS (gRPC withholds call
        credentials from a plaintext loopback channel, and the emulator speaks no TLS)."""

        def __init__(self, plugins, host):
            self.plugins, self.host = [p for p in plugins if p is not None], host

        def _details(self, details):
            metadata = list(details.metadata or [])
            service, _, method = details.method.strip("/").rpartition("/")
            context = Context(f"https://{self.host}/{service}", method)
            for plugin in self.plugins:
                answer: list = []
                plugin(context, lambda items, error, answer=answer: answer.append((items, error)))
                items, error = answer[0]
                if error is not None:
                    raise error
                metadata.extend(items)
            return Details(details.method, details.timeout, metadata, None, details.wait_for_ready, details.compression)

        def intercept_unary_unary(self, continuation, details, request):
            return continuation(self._details(details), request)

        def intercept_unary_stream(self, continuation, details, request):
            return continuation(self._details(details), request)

        def intercept_stream_unary(self, continuation, details, requests):
            return continuation(self._details(details), requests)

        def intercept_stream_stream(self, continuation, details, requests):
            return continuation(self._details(details), requests)

    def channel(target, credentials, options=None, compression=None):
        host = target.rsplit(":", 1)[0].removeprefix("dns:///").lower()
        if host in LOOPBACK or host.startswith("127."):
            return secure_channel(target, credentials, options, compression)
        if host != "firestore.googleapis.com" or not FIRESTORE_GRPC:
            raise NoRoute(f"prod tier network: no gRPC route to {target}")
        local = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
        routed = secure_channel(FIRESTORE_GRPC, local, options, compression)
        return grpc.intercept_channel(routed, CallCredentials(getattr(credentials, "_prodtest_plugins", []), host))

    grpc.metadata_call_credentials = metadata_call_credentials
    grpc.composite_channel_credentials = composite_channel_credentials
    grpc.compute_engine_channel_credentials = compute_engine_channel_credentials
    grpc.secure_channel = channel


if GOOGLE_APIS or FIRESTORE_GRPC:
    _patch_requests()
    _patch_httpx()
    _patch_grpc()
