"""Bluesky (AT Protocol) through the atproto SDK.

Three things make this adapter different from the others:

- Logins are scarce (createSession: 30 per 5 minutes, 300 a day per account), so the session
  is created once, kept in memory and in a small 0600 file (`session_file`,
  session.py), and reused by later calls, other platform objects and daemon restarts.
  The SDK refreshes the access token itself; a session the server refuses is replaced once per
  call (first by a newer one from the file, then by a password login).
- The record key is derived from the delivery (record.py), so every retry writes the
  same key and the PDS can never hold two posts for one delivery. The reference PDS answers a
  repeated key with a bare HTTP 500, so an ambiguous failure of createRecord (5xx, timeout,
  dropped connection) is settled by reading the record back.
- Links and hashtags are only clickable through facets with UTF-8 *byte* offsets, computed
  from the rendered text (record.py).

atproto is imported inside the methods that talk to the network (it takes ~0.6 s to import).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from postbot.domain import Account
from postbot.options import Option
from postbot.platforms._http import TIMEOUT, host_of
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    Platform,
    Published,
    PublishError,
    TransientError,
)
from postbot.platforms.bluesky import errors
from postbot.platforms.bluesky.record import (
    MAX_GRAPHEMES,
    MEDIA,
    POST_COLLECTION,
    build_facets,
    language_tag,
    now_iso,
    record_key,
    reply_refs,
    text_limits,
)
from postbot.platforms.limits import TextLimit
from postbot.redact import Redactor

if TYPE_CHECKING:
    from atproto_client import Client
    from atproto_client.client.session import Session, SessionEvent

    from postbot.platforms.bluesky.session import SessionFile
    from postbot.platforms.facets import Facet

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PDS = "https://bsky.social"
__all__ = ["BlueskyPlatform", "record_key"]


class BlueskyPlatform(Platform):
    name: ClassVar[str] = "bluesky"
    default_limit: ClassVar[int] = MAX_GRAPHEMES
    max_char_limit: ClassVar[int | None] = MAX_GRAPHEMES  # the post record's own limit
    # The record key is derived from the delivery: a re-send writes the same record.
    safe_to_resend: ClassVar[bool] = True
    # 5,000 write points an hour at 3 points per post.
    default_pace: ClassVar[str | None] = "1666/1h"
    options: ClassVar[Mapping[str, Option]] = {
        "timeout": TIMEOUT,
        "session_file": Option(str, path=True, help="a file path, e.g. var/bluesky.session"),
    }
    post_hosts: ClassVar[tuple[str, ...]] = ("bsky.app",)
    media = MEDIA

    def __init__(self, account: Account, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(account, environ)
        self._base_url = (account.base_url or DEFAULT_PDS).rstrip("/")
        self._timeout = self.seconds_option("timeout", TIMEOUT.default)
        # Guards login and session replacement: concurrent publishes must not log in twice.
        self._lock = threading.RLock()
        self._client: Client | None = None
        self._did: str | None = None
        self._handle: str | None = None
        self._session_string: str | None = None  # in memory only; never logged
        self._password = Redactor()  # masks the app password once it is read
        self._redact = self._password  # ... and the tokens of the current session
        self._identifier = ""  # the handle we log in with (ties the session file to it)

    # -- text ------------------------------------------------------------------------------
    def count(self, text: str) -> int:
        # Bluesky counts extended grapheme clusters; a URL counts in full (it stays in the text).
        from postbot.compose import count_graphemes

        return count_graphemes(text)

    def text_limits(self) -> tuple[TextLimit, ...]:
        # Graphemes and UTF-8 bytes of the text, and of its longest hashtag (the lexicon's).
        return text_limits(self.limit())

    def facets(self, text: str) -> tuple[Facet, ...]:
        # Exactly the facets the record will carry.
        from postbot.platforms.facets import from_byte_offsets

        return from_byte_offsets(text, build_facets(text))

    # -- publishing ------------------------------------------------------------------------
    def publish(self, outgoing: Outgoing) -> Published:
        text = outgoing.text
        self.refuse_overrun(text, prefix="Bluesky: ")
        rkey = record_key(outgoing)
        images = self._load_images(outgoing)  # refuse bad media before any network call
        facets = build_facets(text)
        langs = [language_tag(outgoing.language)] if outgoing.language else []
        reply = reply_refs(outgoing)

        def attempt(client: Client) -> Published:
            record: dict[str, Any] = {
                "$type": POST_COLLECTION,
                "text": text,
                "createdAt": now_iso(),
            }
            if langs:
                record["langs"] = langs
            if facets:
                record["facets"] = facets
            if reply is not None:
                record["reply"] = reply
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
    def _load_images(self, outgoing: Outgoing) -> list[tuple[bytes, str, str]]:
        images = self.checked_media(outgoing.media, prefix="Bluesky: ")
        try:
            return [
                (Path(image.path).read_bytes(), image.mime or "", item.alt)
                for image, item in zip(images, outgoing.media, strict=True)
            ]
        except OSError as exc:
            raise PermanentError(f"Bluesky: cannot read an image: {exc.strerror}") from None

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
            if errors.is_session_failure(exc):
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
            if errors.is_session_failure(exc):
                raise  # nothing was written: _run replaces the session and tries again
            if not (errors.may_have_written(exc) or isinstance(exc, ModelError)):
                raise self._map_error(exc, "createRecord") from None
            # The write may have happened (or happened on an earlier try: the reference PDS
            # answers a repeated rkey with 500). Reading the record back decides.
            return self._settle(client, rkey, exc)
        return self._published(response.uri, rkey, record, response.cid)

    def _settle(self, client: Client, rkey: str, exc: Exception) -> Published:
        status = errors.http_status(exc)
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
            status, code, _ = errors.error_parts(exc)
            if code == "RecordNotFound" or status == 404:
                return None
            raise
        value = response.value
        record = value if isinstance(value, dict) else get_model_as_dict(value)
        return self._published(response.uri, rkey, record, response.cid)

    def _published(
        self, uri: str, rkey: str, record: Mapping[str, Any], cid: str | None
    ) -> Published:
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
                **({"reply": record["reply"]} if record.get("reply") else {}),
            },
            ref=cid,
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
                if fresh or replaced >= 2 or not errors.is_session_failure(exc):
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
            stored = self._session_file().load(credentials["handle"])
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
                stored = self._session_file().load(credentials["handle"])
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
        self._password = Redactor([credentials["app_password"]])
        self._redact = self._password
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
        # Rebuilt, not grown: old tokens are JWTs, which every Redactor masks anyway.
        self._redact = self._password.with_secrets(session.access_jwt, session.refresh_jwt)
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._session_file().save(self._identifier, self._session_string)

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
        from postbot.platforms.bluesky.session import default_path

        return default_path(self.account.name, self.account.home)

    def _session_file(self) -> SessionFile:
        from postbot.platforms.bluesky.session import SessionFile

        return SessionFile(self.session_path(), self._base_url, self.account.name)

    # -- errors ----------------------------------------------------------------------------
    def _describe(self, exc: BaseException, action: str) -> str:
        return self._redact(errors.describe(exc, action, host_of(self._base_url), self._timeout))

    def _map_error(self, exc: Exception, action: str) -> Exception:
        """The PublishError for an SDK or transport failure (anything else passes through)."""
        message = self._describe(exc, action)
        mapped = errors.to_publish_error(exc, message, action, self.account.credential_vars)
        return mapped.redacted(self._redact) if isinstance(mapped, PublishError) else mapped
