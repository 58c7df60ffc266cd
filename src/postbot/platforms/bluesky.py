"""Bluesky (AT Protocol) through the atproto SDK.

Three things make this adapter different from the others:

- Logins are scarce (createSession: 30 per 5 minutes, 300 a day per account), so the session
  is created once, kept in memory and in a small 0600 file (`session_file`), and reused by
  later calls, other platform objects and daemon restarts. The SDK refreshes the access token
  itself; a session the server refuses is replaced once per call (first by a newer one from
  the file, then by a password login).
- The record key is derived from the delivery (a TID from `created_at` and `delivery_id`), so
  every retry writes the same key and the PDS can never hold two posts for one delivery.
  The reference PDS answers a repeated key with a bare HTTP 500, so an ambiguous failure of
  createRecord (5xx, timeout, dropped connection) is settled by reading the record back.
- Links and hashtags are only clickable through facets with UTF-8 *byte* offsets, computed
  here from the rendered text.

atproto is imported inside the methods that talk to the network (it takes ~0.6 s to import).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from postbot.domain import Account, MediaItem
from postbot.options import SECONDS, Option
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    Platform,
    Published,
    PublishError,
    TransientError,
    scrub,
)

if TYPE_CHECKING:
    from atproto_client import Client
    from atproto_client.client.session import Session, SessionEvent

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PDS = "https://bsky.social"
DEFAULT_TIMEOUT = 30.0
POST_COLLECTION = "app.bsky.feed.post"

# Hard limits of the app.bsky.feed.post lexicon (the PDS refuses anything beyond them).
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Errors that mean "this session is no good", not "this request is bad".
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
# Anything JWT-shaped is scrubbed from messages, whatever produced them.
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Links as the Bluesky app detects them: http(s):// up to white space.
_LINK_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_LINK_TRAILING = ".,;:!?'\""


class BlueskyPlatform(Platform):
    name: ClassVar[str] = "bluesky"
    default_limit: ClassVar[int] = MAX_GRAPHEMES
    # The record key is derived from the delivery: a re-send writes the same record.
    safe_to_resend: ClassVar[bool] = True
    # 5,000 write points an hour at 3 points per post.
    default_pace: ClassVar[str | None] = "1666/1h"
    options: ClassVar[Mapping[str, Option]] = {
        "timeout": replace(SECONDS, default=DEFAULT_TIMEOUT),
        "session_file": Option(str, help="a file path, e.g. var/bluesky.session"),
    }
    post_hosts: ClassVar[tuple[str, ...]] = ("bsky.app",)

    def __init__(self, account: Account, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(account, environ)
        self._base_url = (account.base_url or DEFAULT_PDS).rstrip("/")
        self._timeout = self.seconds_option("timeout", DEFAULT_TIMEOUT)
        # Guards login and session replacement: concurrent publishes must not log in twice.
        self._lock = threading.RLock()
        self._client: Client | None = None
        self._did: str | None = None
        self._handle: str | None = None
        self._session_string: str | None = None  # in memory only; never logged
        self._secrets: tuple[str, ...] = ()
        self._identifier = ""  # the handle we log in with (ties the session file to it)

    # -- text ------------------------------------------------------------------------------
    def count(self, text: str) -> int:
        # Bluesky counts extended grapheme clusters; a URL counts in full (it stays in the text).
        from postbot.compose import count_graphemes

        return count_graphemes(text)

    # -- publishing ------------------------------------------------------------------------
    def publish(self, outgoing: Outgoing) -> Published:
        text = outgoing.text
        self._check_text(text)
        rkey = record_key(outgoing)
        images = _load_images(outgoing.media)  # refuse bad media before any network call
        facets = build_facets(text)
        langs = [_language_tag(outgoing.language)] if outgoing.language else []

        def attempt(client: Client) -> Published:
            record: dict[str, Any] = {
                "$type": POST_COLLECTION,
                "text": text,
                "createdAt": _now_iso(),
            }
            if langs:
                record["langs"] = langs
            if facets:
                record["facets"] = facets
            if images:
                record["embed"] = {
                    "$type": "app.bsky.embed.images",
                    "images": [
                        {"alt": alt, "image": self._upload(client, data, mime)}
                        for data, mime, alt in images
                    ],
                }
            return self._create(client, rkey, record)

        return self._run("publish", attempt)

    def lookup(self, outgoing: Outgoing) -> Published | None:
        rkey = record_key(outgoing)
        return self._run("getRecord", lambda client: self._get_post(client, rkey))

    def check(self) -> str:
        def who(client: Client) -> str:
            profile = client.app.bsky.actor.get_profile(params={"actor": self._require_did()})
            return f"@{profile.handle}"

        return self._run("getProfile", who)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.request.close()
                self._client = None

    # -- the record ------------------------------------------------------------------------
    def _check_text(self, text: str) -> None:
        graphemes = self.count(text)
        if graphemes > MAX_GRAPHEMES:
            raise PermanentError(
                f"Bluesky: text is {graphemes} graphemes, the limit is {MAX_GRAPHEMES}"
            )
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise PermanentError(f"Bluesky: text is {size} bytes, the limit is {MAX_TEXT_BYTES}")

    def _upload(self, client: Client, data: bytes, mime: str) -> dict[str, Any]:
        from atproto_client import models
        from atproto_client.models.utils import get_response_model

        try:
            # Through invoke_procedure rather than upload_blob: the SDK would hand the bytes to
            # httpx as `data=` (deprecated there, a warning on every image); `content=` is right.
            raw = client.invoke_procedure(
                "com.atproto.repo.uploadBlob",
                content=data,
                headers={"Content-Type": mime},
                output_encoding="application/json",
            )
            response = get_response_model(raw, models.ComAtprotoRepoUploadBlob.Response)
        except Exception as exc:
            if _is_session_failure(exc):
                raise  # _run renews the session and tries again
            raise self._map_error(exc, "uploadBlob") from None
        blob = response.blob
        # The CID exactly as the PDS wrote it (re-encoding could change its spelling).
        link = blob.ref.link if blob.is_json_representation else str(blob.cid)
        # The blob reference as the record needs it: {"$type": "blob", "ref": {"$link": ...}}.
        return {
            "$type": "blob",
            "ref": {"$link": link},
            "mimeType": blob.mime_type,
            "size": blob.size,
        }

    def _create(self, client: Client, rkey: str, record: dict[str, Any]) -> Published:
        from atproto_client.exceptions import ModelError

        try:
            response = client.com.atproto.repo.create_record(
                data={
                    "repo": self._require_did(),
                    "collection": POST_COLLECTION,
                    "rkey": rkey,
                    "record": record,
                }
            )
        except Exception as exc:
            if _is_session_failure(exc):
                raise  # nothing was written: _run replaces the session and tries again
            if not (_may_have_written(exc) or isinstance(exc, ModelError)):
                raise self._map_error(exc, "createRecord") from None
            # The write may have happened (or happened on an earlier try: the reference PDS
            # answers a repeated rkey with 500). Reading the record back decides.
            return self._settle(client, rkey, exc)
        return self._published(response.uri, rkey, record)

    def _settle(self, client: Client, rkey: str, exc: Exception) -> Published:
        status = _status(exc)
        what = self._describe(exc, "createRecord")
        try:
            found = self._get_post(client, rkey)
        except Exception as lookup_exc:
            raise OutcomeUnknown(
                f"{what}; looking up record {rkey} failed too"
                f" ({self._describe(lookup_exc, 'getRecord')})",
                http_status=status,
            ) from None
        if found is not None:
            log.info("bluesky %s: record %s is on the PDS after: %s", self.account.name, rkey, what)
            return found
        # Not there (yet): a retry writes the same rkey, so it can never make a second post.
        raise TransientError(f"{what}; record {rkey} not found, safe to retry", http_status=status)

    def _get_post(self, client: Client, rkey: str) -> Published | None:
        from atproto_client.exceptions import RequestErrorBase
        from atproto_client.models.utils import get_model_as_dict

        try:
            response = client.com.atproto.repo.get_record(
                params={"repo": self._require_did(), "collection": POST_COLLECTION, "rkey": rkey}
            )
        except RequestErrorBase as exc:
            status, code, _ = _error_parts(exc)
            if code == "RecordNotFound" or status == 404:
                return None
            raise
        value = response.value
        record = value if isinstance(value, dict) else get_model_as_dict(value)
        return self._published(response.uri, rkey, record)

    def _published(self, uri: str, rkey: str, record: Mapping[str, Any]) -> Published:
        embed = record.get("embed") or {}
        images = (embed.get("images") or []) if isinstance(embed, Mapping) else []
        return Published(
            remote_id=uri,
            url=f"https://bsky.app/profile/{self._handle or self._require_did()}/post/{rkey}",
            http_status=200,
            detail={
                "text": record.get("text", ""),
                "langs": list(record.get("langs") or []),
                "facets": list(record.get("facets") or []),
                "images": [{"alt": image.get("alt", "")} for image in images],
                "rkey": rkey,
            },
        )

    # -- session ---------------------------------------------------------------------------
    def _run(self, action: str, call: Callable[[Client], T]) -> T:
        """Run `call` with a logged-in client; replace a refused session at most twice
        (a newer one from the session file, then a password login), map every failure."""
        client, fresh = self._connect()
        replaced = 0
        while True:
            used = self._session_string
            try:
                return call(client)
            except PublishError:
                raise
            except Exception as exc:
                if fresh or replaced >= 2 or not _is_session_failure(exc):
                    raise self._map_error(exc, action) from None
                log.info(
                    "bluesky %s: session refused (%s), renewing it",
                    self.account.name,
                    self._describe(exc, action),
                )
                replaced += 1
                client, fresh = self._renew(used, allow_file=replaced == 1)

    def _connect(self) -> tuple[Client, bool]:
        """The client with a session; True when this call had to log in with the password."""
        with self._lock:
            if self._client is not None:
                return self._client, False
            credentials = self._credentials()
            client = self._new_client()
            stored = self._load_session(credentials["handle"])
            if stored is not None and self._import(client, stored):
                self._client = client
                log.info("bluesky %s: reusing the stored session", self.account.name)
                return client, False
            self._login(client, credentials)
            self._client = client
            return client, True

    def _renew(self, refused: str | None, *, allow_file: bool) -> tuple[Client, bool]:
        with self._lock:
            client = self._client or self._new_client()
            self._client = client
            if self._session_string != refused:
                return client, False  # another thread has already renewed it
            credentials = self._credentials()
            if allow_file:
                # Another process (`postbot accounts check`, the other daemon instance) may
                # have refreshed the session and rotated the tokens we hold.
                stored = self._load_session(credentials["handle"])
                if stored is not None and stored != refused and self._import(client, stored):
                    return client, False
            self._login(client, credentials)
            return client, True

    def _credentials(self) -> dict[str, str]:
        credentials = self.account.credentials(self.environ)  # ConfigError names the variable
        for role in ("handle", "app_password"):
            if role not in credentials:
                from postbot.errors import ConfigError

                raise ConfigError(
                    f"account '{self.account.name}': credentials must name an environment"
                    f" variable for '{role}' (e.g. {role} = \"BSKY_{role.upper()}\")"
                )
        self._secrets = (credentials["app_password"],)
        self._identifier = credentials["handle"]
        return credentials

    def _new_client(self) -> Client:
        import httpx
        from atproto_client import Client
        from atproto_client.request import Request

        # One timeout for connect, read, write and pool wait: httpx takes it per client.
        client = Client(
            base_url=self._base_url, request=Request(timeout=httpx.Timeout(self._timeout))
        )
        client.on_session_change(self._session_changed)
        return client

    def _import(self, client: Client, session_string: str) -> bool:
        try:
            # No network: the SDK only decodes it. fetch_bsky_profile=False skips getProfile.
            client.login(session_string=session_string, fetch_bsky_profile=False)
        except Exception as exc:
            log.warning(
                "bluesky %s: ignoring an unreadable stored session (%s)",
                self.account.name,
                type(exc).__name__,
            )
            return False
        return True

    def _login(self, client: Client, credentials: Mapping[str, str]) -> None:
        handle = credentials["handle"]
        try:
            client.login(handle, credentials["app_password"], fetch_bsky_profile=False)
        except Exception as exc:
            # `from None`: the transport exception holds the request, whose body has the password.
            raise self._map_error(exc, "createSession (login)") from None
        log.info("bluesky %s: logged in as %s (new session)", self.account.name, handle)

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        from atproto_client.client.session import SessionEvent

        self._did = session.did
        self._handle = session.handle
        self._session_string = session.export()
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._save_session(self._session_string)

    def _require_did(self) -> str:
        if self._did is None:
            raise PermanentError("Bluesky: no session (login did not return a DID)")
        return self._did

    # -- session file ----------------------------------------------------------------------
    def session_path(self) -> Path:
        """Where the session lives between runs: never in the database, never in a log."""
        configured = self.account.options.get("session_file")
        if configured:
            return Path(str(configured)).expanduser()
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", self.account.name)
        return Path("var") / f"bluesky-{safe}.session"

    def _load_session(self, identifier: str) -> str | None:
        path = self.session_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning(
                "bluesky %s: cannot read %s (%s)", self.account.name, path, exc.__class__.__name__
            )
            return None
        # A session belongs to one login on one PDS: a changed config must not reuse it.
        if (
            not isinstance(data, dict)
            or data.get("pds") != self._base_url
            or data.get("identifier") != identifier
            or not isinstance(data.get("session"), str)
        ):
            return None
        session: str = data["session"]
        return session

    def _save_session(self, session_string: str) -> None:
        path = self.session_path()
        payload = json.dumps(
            {"pds": self._base_url, "identifier": self._identifier, "session": session_string}
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created 0600 from the start (not chmod-ed later): the tokens are never readable
            # by others, not even for a moment. Replaced atomically for concurrent readers.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as exc:
            # Not fatal: the session still works in memory, the next start logs in again.
            log.warning(
                "bluesky %s: cannot store the session in %s (%s)",
                self.account.name,
                path,
                exc.__class__.__name__,
            )
            tmp.unlink(missing_ok=True)

    # -- errors ----------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        text = scrub(text, self._secrets)
        if self._session_string:
            for part in self._session_string.split(":::"):
                if len(part) > 20 and part.startswith("ey"):
                    text = text.replace(part, "***")
        return _JWT_RE.sub("***", text)

    def _describe(self, exc: BaseException, action: str) -> str:
        from atproto_client.exceptions import InvokeTimeoutError, RequestErrorBase

        prefix = f"Bluesky {action}"
        if isinstance(exc, RequestErrorBase) and exc.response is not None:
            status, code, message = _error_parts(exc)
            detail = ": ".join(p for p in (code, message) if p)
            text = f"{prefix}: HTTP {status}" + (f" {detail}" if detail else "")
        elif isinstance(exc, InvokeTimeoutError) or _is_timeout(exc):
            text = f"{prefix}: no answer within {self._timeout:g} s"
        else:
            cause = exc.__cause__ or exc
            reason = str(cause) or cause.__class__.__name__
            text = f"{prefix}: connection failed: {reason}"
        return self._scrub(text)

    def _map_error(self, exc: Exception, action: str) -> Exception:
        """The PublishError for an SDK or transport failure (anything else passes through)."""
        from atproto_client.exceptions import (
            LoginRequiredError,
            ModelError,
            RateLimitExceededError,
            RequestErrorBase,
        )

        if isinstance(exc, PublishError):
            return exc
        message = self._describe(exc, action)
        if isinstance(exc, RequestErrorBase) and exc.response is not None:
            status, code, _ = _error_parts(exc)
            if status == 429:
                retry_after = None
                if isinstance(exc, RateLimitExceededError):
                    retry_after = exc.reset_at
                    if retry_after is None and exc.retry_after is not None:
                        retry_after = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
                return TransientError(message, http_status=429, retry_after=retry_after)
            if status in (401, 403) or code in _TOKEN_ERRORS:
                return PermanentError(self._auth_hint(message, code), http_status=status)
            if status in (409, 502) or status >= 500:
                return TransientError(message, http_status=status)
            return PermanentError(message, http_status=status)  # 400 InvalidRequest, 413, ...
        if isinstance(exc, LoginRequiredError) or _is_token_decode_error(exc):
            return PermanentError(f"Bluesky {action}: the session is unusable", http_status=None)
        if isinstance(exc, ModelError):
            return TransientError(f"Bluesky {action}: unexpected answer from the PDS")
        if _is_transport_error(exc):
            return TransientError(message)
        return exc

    def _auth_hint(self, message: str, code: str | None) -> str:
        variables = self.account.credential_vars
        if code == "AuthFactorTokenRequired":
            return (
                f"{message} (the account asks for an email sign-in code: use an app password"
                f" in {variables.get('app_password', 'app_password')})"
            )
        if code == "AuthenticationRequired":
            return (
                f"{message} (check {variables.get('handle', 'handle')} and the app password"
                f" in {variables.get('app_password', 'app_password')})"
            )
        return message


# -- record key ----------------------------------------------------------------------------


def tid(micros: int, clock_id: int = 0) -> str:
    """A TID: (microseconds << 10 | clock id) as 13 base32-sortable characters."""
    value = ((micros << 10) | (clock_id & 0x3FF)) & 0x7FFF_FFFF_FFFF_FFFF
    return "".join(TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


def record_key(outgoing: Outgoing) -> str:
    """The record key of a delivery: the same on every retry, so a retry cannot duplicate."""
    created = outgoing.created_at
    if created is None:
        raise PermanentError(
            f"delivery {outgoing.delivery_id} has no created_at: cannot derive a record key"
        )
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # stored as UTC without a zone
    micros = (created - _EPOCH) // timedelta(microseconds=1)  # exact, no float rounding
    return tid(micros, outgoing.delivery_id)


# -- facets --------------------------------------------------------------------------------


def build_facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets for `text`, with UTF-8 byte offsets (what the lexicon uses)."""
    import regex

    from postbot.compose import count_graphemes

    spans: list[tuple[int, int, dict[str, Any]]] = []
    links: list[tuple[int, int]] = []
    for match in _LINK_RE.finditer(text):
        url = _trim_link(match.group())
        start, end = match.start(), match.start() + len(url)
        links.append((start, end))
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": url}))
    # The same tag rule as compose.hashtags_in: '#' not glued to a word, letters/digits/_.
    for match in regex.finditer(r"(?<![\p{L}\p{M}\p{Nd}_&/])#([\p{L}\p{M}\p{Nd}_]+)", text):
        tag = match.group(1)
        start, end = match.span()
        if tag.isdigit() or any(s < end and start < e for s, e in links):
            continue
        if count_graphemes(tag) > MAX_TAG_GRAPHEMES or len(tag.encode()) > MAX_TAG_BYTES:
            continue  # the lexicon would refuse the whole post
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    facets = []
    for start, end, feature in sorted(spans, key=lambda span: span[0]):
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {
                    "byteStart": _byte_offset(text, start),
                    "byteEnd": _byte_offset(text, end),
                },
                "features": [feature],
            }
        )
    return facets


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _trim_link(url: str) -> str:
    # Sentence punctuation after a link is not part of it; a ")" only if unbalanced.
    while url and (
        url[-1] in _LINK_TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))
    ):
        url = url[:-1]
    return url


# -- media, language, time -----------------------------------------------------------------


def _load_images(media: tuple[MediaItem, ...]) -> list[tuple[bytes, str, str]]:
    if len(media) > MAX_IMAGES:
        raise PermanentError(f"Bluesky: {len(media)} images, at most {MAX_IMAGES} per post")
    images = []
    for item in media:
        try:
            data = Path(item.path).read_bytes()
        except OSError as exc:
            raise PermanentError(
                f"Bluesky: cannot read image {item.path}: {exc.strerror}"
            ) from None
        mime = _sniff_image(data) or mimetypes.guess_type(item.path)[0] or ""
        if not mime.startswith("image/"):
            raise PermanentError(f"Bluesky: {item.path} is not an image")
        if len(data) > MAX_IMAGE_BYTES:
            raise PermanentError(
                f"Bluesky: image {item.path} is {len(data)} bytes, the limit is {MAX_IMAGE_BYTES}"
            )
        images.append((data, mime, item.alt))
    return images


def _sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _language_tag(language: str) -> str:
    return language.strip().replace("_", "-")  # BCP 47 uses '-', locales often '_'


def _now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


# -- classifying SDK failures --------------------------------------------------------------


def _error_parts(exc: Any) -> tuple[int, str | None, str | None]:
    """(HTTP status, XRPC error code, server message) of an SDK request error."""
    from atproto_client.models.common import XrpcError

    response = exc.response
    content = response.content
    if isinstance(content, XrpcError):
        return response.status_code, content.error, content.message
    if isinstance(content, dict):
        return response.status_code, content.get("error"), content.get("message")
    return response.status_code, None, None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_session_failure(exc: BaseException) -> bool:
    """The server refused our session (expired, revoked, garbage): a new one may help."""
    from atproto_client.exceptions import LoginRequiredError, RequestErrorBase

    if isinstance(exc, LoginRequiredError) or _is_token_decode_error(exc):
        return True
    if isinstance(exc, RequestErrorBase) and exc.response is not None:
        status, code, _ = _error_parts(exc)
        return status == 401 or (status in (400, 401) and code in _TOKEN_ERRORS)
    return False


def _is_token_decode_error(exc: BaseException) -> bool:
    from atproto_server.exceptions import TokenDecodeError

    return isinstance(exc, TokenDecodeError)


def _is_transport_error(exc: BaseException) -> bool:
    import httpx
    from atproto_client.exceptions import NetworkError

    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, NetworkError) and exc.response is None
    )


def _is_timeout(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TimeoutException) or isinstance(
        exc.__cause__, httpx.TimeoutException
    )


def _may_have_written(exc: BaseException) -> bool:
    """Could the PDS have stored the record although we got no success answer?"""
    import httpx
    from atproto_client.exceptions import RequestErrorBase

    if isinstance(exc, RequestErrorBase) and exc.response is not None:
        status = exc.response.status_code
        return status >= 500 or status == 409  # 500 is also the answer to a repeated rkey
    if not _is_transport_error(exc):
        return False
    cause = exc if isinstance(exc, httpx.TransportError) else exc.__cause__
    # Refused or never connected: the request did not leave this machine.
    return not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
