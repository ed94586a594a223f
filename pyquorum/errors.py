"""The one exception tree of pyquorum.

Everything pyquorum raises on purpose derives from :class:`PyquorumError`.
Two families sit under it:

* :class:`CsError` and one subclass per corosync ``cs_error_t`` code, so a
  caller can catch ``ExistError`` or look a class up with :func:`for_code`.
  Transport failures that libquorum would report as a ``cs_error_t`` are
  raised as the class libquorum's errno mapping (corosync's
  ``qb_to_cs_error``) would pick, with the errno kept in ``.errno``.
* :class:`ProtocolError`: bytes that do not follow the protocol.  Split,
  as in h11, into :class:`LocalProtocolError` (the caller asked for
  something unencodable) and :class:`RemoteProtocolError` (the peer sent
  bad bytes; the bytes and the offending field/offset travel with it).

Classes also derive from the matching builtin where one exists
(``ConnectionError``, ``TimeoutError``, ``PermissionError``, ``ValueError``)
so generic ``except`` clauses keep working.
"""

from __future__ import annotations

import errno as _errno
from enum import IntEnum
from typing import ClassVar

__all__ = [
    "AccessError",
    "BadFlagsError",
    "BadHandleError",
    "BadOperationError",
    "BusyError",
    "ConnectionLost",
    "ContextNotFoundError",
    "CorosyncNotRunning",
    "CsError",
    "CsErrorCode",
    "CsTimeoutError",
    "ExistError",
    "FailedOperationError",
    "InitError",
    "InterruptError",
    "InvalidParamError",
    "LibraryError",
    "LocalProtocolError",
    "MessageError",
    "NameNotFoundError",
    "NameTooLongError",
    "NoMemoryError",
    "NoResourcesError",
    "NoSectionsError",
    "NoSpaceError",
    "NotExistError",
    "NotSupportedError",
    "ProtocolError",
    "PyquorumError",
    "QueueFullError",
    "QueueNotAvailableError",
    "RemoteProtocolError",
    "SecurityError",
    "TooBigError",
    "TooManyGroupsError",
    "TryAgainError",
    "VersionError",
    "cs_error_from_errno",
    "error_from_errno",
    "for_code",
    "raise_for_code",
]


class CsErrorCode(IntEnum):
    """corosync's ``cs_error_t`` (corosync/corotypes.h). 1 is success; 0 and 29 do not exist."""

    OK = 1
    ERR_LIBRARY = 2
    ERR_VERSION = 3
    ERR_INIT = 4
    ERR_TIMEOUT = 5
    ERR_TRY_AGAIN = 6
    ERR_INVALID_PARAM = 7
    ERR_NO_MEMORY = 8
    ERR_BAD_HANDLE = 9
    ERR_BUSY = 10
    ERR_ACCESS = 11
    ERR_NOT_EXIST = 12
    ERR_NAME_TOO_LONG = 13
    ERR_EXIST = 14
    ERR_NO_SPACE = 15
    ERR_INTERRUPT = 16
    ERR_NAME_NOT_FOUND = 17
    ERR_NO_RESOURCES = 18
    ERR_NOT_SUPPORTED = 19
    ERR_BAD_OPERATION = 20
    ERR_FAILED_OPERATION = 21
    ERR_MESSAGE_ERROR = 22
    ERR_QUEUE_FULL = 23
    ERR_QUEUE_NOT_AVAILABLE = 24
    ERR_BAD_FLAGS = 25
    ERR_TOO_BIG = 26
    ERR_NO_SECTIONS = 27
    ERR_CONTEXT_NOT_FOUND = 28
    ERR_TOO_MANY_GROUPS = 30
    ERR_SECURITY = 100


class PyquorumError(Exception):
    """Root of every exception pyquorum raises deliberately."""


# --------------------------------------------------------------------------
# cs_error_t family


class CsError(PyquorumError):
    """A failure that corosync (or libquorum) would report as a ``cs_error_t``.

    ``code`` is the :class:`CsErrorCode`; ``errno`` is set when the failure
    came from the transport (a libqb negative errno) rather than from a
    service response.  ``retriable`` says whether the same call may succeed
    if simply repeated later.
    """

    code: ClassVar[CsErrorCode] = CsErrorCode.ERR_LIBRARY
    retriable: ClassVar[bool] = False

    def __init__(self, message: str | None = None, *, errno: int | None = None) -> None:
        if message is None:
            message = f"corosync returned {self.code.name} ({int(self.code)})"
        super().__init__(message)
        self.message = message
        # OSError subclasses already own an ``errno`` slot; set it either way.
        self.errno = errno

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.errno))


def _rebuild(cls: type[CsError], message: str, errno: int | None) -> CsError:
    return cls(message, errno=errno)


class LibraryError(CsError):
    code = CsErrorCode.ERR_LIBRARY


class VersionError(CsError):
    code = CsErrorCode.ERR_VERSION


class InitError(CsError):
    code = CsErrorCode.ERR_INIT


class CsTimeoutError(CsError, TimeoutError):
    """A call ran out of its timeout (pyquorum's per-call timeouts raise this)."""

    code = CsErrorCode.ERR_TIMEOUT
    retriable = True


class TryAgainError(CsError):
    code = CsErrorCode.ERR_TRY_AGAIN
    retriable = True


class InvalidParamError(CsError, ValueError):
    code = CsErrorCode.ERR_INVALID_PARAM


class NoMemoryError(CsError):
    code = CsErrorCode.ERR_NO_MEMORY


class BadHandleError(CsError):
    code = CsErrorCode.ERR_BAD_HANDLE


class BusyError(CsError):
    code = CsErrorCode.ERR_BUSY
    retriable = True


class AccessError(CsError, PermissionError):
    code = CsErrorCode.ERR_ACCESS


class NotExistError(CsError):
    code = CsErrorCode.ERR_NOT_EXIST


class NameTooLongError(CsError):
    code = CsErrorCode.ERR_NAME_TOO_LONG


class ExistError(CsError):
    code = CsErrorCode.ERR_EXIST


class NoSpaceError(CsError):
    code = CsErrorCode.ERR_NO_SPACE


class InterruptError(CsError):
    code = CsErrorCode.ERR_INTERRUPT
    retriable = True


class NameNotFoundError(CsError):
    code = CsErrorCode.ERR_NAME_NOT_FOUND


class NoResourcesError(CsError):
    code = CsErrorCode.ERR_NO_RESOURCES
    retriable = True


class NotSupportedError(CsError):
    code = CsErrorCode.ERR_NOT_SUPPORTED


class BadOperationError(CsError):
    code = CsErrorCode.ERR_BAD_OPERATION


class FailedOperationError(CsError):
    code = CsErrorCode.ERR_FAILED_OPERATION


class MessageError(CsError):
    code = CsErrorCode.ERR_MESSAGE_ERROR


class QueueFullError(CsError):
    code = CsErrorCode.ERR_QUEUE_FULL
    retriable = True


class QueueNotAvailableError(CsError):
    code = CsErrorCode.ERR_QUEUE_NOT_AVAILABLE


class BadFlagsError(CsError):
    code = CsErrorCode.ERR_BAD_FLAGS


class TooBigError(CsError):
    code = CsErrorCode.ERR_TOO_BIG


class NoSectionsError(CsError):
    code = CsErrorCode.ERR_NO_SECTIONS


class ContextNotFoundError(CsError):
    code = CsErrorCode.ERR_CONTEXT_NOT_FOUND


class TooManyGroupsError(CsError):
    code = CsErrorCode.ERR_TOO_MANY_GROUPS


class SecurityError(CsError):
    code = CsErrorCode.ERR_SECURITY


class ConnectionLost(LibraryError, ConnectionError):
    """The daemon went away (hang-up, EOF, reset, or a torn-down ring).

    libquorum reports this as ``CS_ERR_LIBRARY``; the session is unusable
    afterwards and must be closed (or reconnected).
    """


class CorosyncNotRunning(LibraryError, ConnectionRefusedError):
    """Nothing listens on the service's socket in this network namespace."""


_BY_CODE: dict[int, type[CsError]] = {
    cls.code: cls
    for cls in (
        LibraryError, VersionError, InitError, CsTimeoutError, TryAgainError,
        InvalidParamError, NoMemoryError, BadHandleError, BusyError, AccessError,
        NotExistError, NameTooLongError, ExistError, NoSpaceError, InterruptError,
        NameNotFoundError, NoResourcesError, NotSupportedError, BadOperationError,
        FailedOperationError, MessageError, QueueFullError, QueueNotAvailableError,
        BadFlagsError, TooBigError, NoSectionsError, ContextNotFoundError,
        TooManyGroupsError, SecurityError,
    )
}


def for_code(code: int) -> type[CsError]:
    """The exception class for a ``cs_error_t`` value.

    Unknown codes (a newer corosync) map to :class:`LibraryError`, as no
    better guess exists.  ``CS_OK`` is not an error and raises ValueError.
    """
    if code == CsErrorCode.OK:
        raise ValueError("CS_OK (1) is not an error")
    return _BY_CODE.get(code, LibraryError)


def raise_for_code(code: int, what: str) -> None:
    """Raise the class for ``code`` unless it is ``CS_OK``; ``what`` names the call."""
    if code == CsErrorCode.OK:
        return
    cls = for_code(code)
    try:
        name = CsErrorCode(code).name
    except ValueError:
        name = "unknown cs_error_t"
    raise cls(f"{what}: corosync returned CS_{name} ({code})")


# libquorum converts libqb's negative errnos with corosync's qb_to_cs_error
# (lib/util.h / common_lib); this table is that switch.
_ERRNO_TO_CS: dict[int, CsErrorCode] = {
    _errno.EBADF: CsErrorCode.ERR_BAD_HANDLE,
    _errno.ENOMEM: CsErrorCode.ERR_NO_MEMORY,
    _errno.EAGAIN: CsErrorCode.ERR_TRY_AGAIN,
    _errno.ETIMEDOUT: CsErrorCode.ERR_TRY_AGAIN,
    _errno.ENOBUFS: CsErrorCode.ERR_TRY_AGAIN,
    _errno.ENOMSG: CsErrorCode.ERR_TRY_AGAIN,
    _errno.EBADE: CsErrorCode.ERR_FAILED_OPERATION,
    _errno.ETIME: CsErrorCode.ERR_TIMEOUT,
    _errno.EINVAL: CsErrorCode.ERR_INVALID_PARAM,
    _errno.EBUSY: CsErrorCode.ERR_BUSY,
    _errno.EACCES: CsErrorCode.ERR_ACCESS,
    _errno.EOVERFLOW: CsErrorCode.ERR_NAME_TOO_LONG,
    _errno.EEXIST: CsErrorCode.ERR_EXIST,
    _errno.ENOSPC: CsErrorCode.ERR_NO_SPACE,
    _errno.EINTR: CsErrorCode.ERR_INTERRUPT,
    _errno.ENOENT: CsErrorCode.ERR_NOT_EXIST,
    _errno.ENODEV: CsErrorCode.ERR_NOT_EXIST,
    _errno.ENOSYS: CsErrorCode.ERR_NOT_SUPPORTED,
    _errno.ENOTSUP: CsErrorCode.ERR_NOT_SUPPORTED,
    _errno.EBADMSG: CsErrorCode.ERR_MESSAGE_ERROR,
    _errno.EMSGSIZE: CsErrorCode.ERR_TOO_BIG,
    _errno.E2BIG: CsErrorCode.ERR_TOO_BIG,
}


def cs_error_from_errno(err: int) -> CsErrorCode:
    """libquorum's errno → ``cs_error_t`` mapping; the sign of ``err`` is ignored.

    0 means success (``CS_OK``); anything not listed is ``CS_ERR_LIBRARY``.
    """
    err = abs(err)
    if err == 0:
        return CsErrorCode.OK
    return _ERRNO_TO_CS.get(err, CsErrorCode.ERR_LIBRARY)


def error_from_errno(err: int, message: str) -> CsError:
    """An exception instance for a libqb errno, carrying ``errno``."""
    code = cs_error_from_errno(err)
    if code == CsErrorCode.OK:
        raise ValueError("errno 0 is not an error")
    return for_code(code)(message, errno=abs(err))


# --------------------------------------------------------------------------
# protocol errors


class ProtocolError(PyquorumError):
    """Bytes that do not follow the protocol, or a request that cannot be encoded."""


class LocalProtocolError(ProtocolError, ValueError):
    """The caller asked for a message that cannot be encoded (bad argument)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that do not parse.

    ``data`` holds the offending bytes, ``field`` the name of the field that
    failed (if known) and ``offset`` its byte offset within ``data``.
    """

    def __init__(
        self,
        message: str,
        *,
        data: bytes = b"",
        field: str | None = None,
        offset: int | None = None,
    ) -> None:
        where = []
        if field is not None:
            where.append(f"field {field!r}")
        if offset is not None:
            where.append(f"offset {offset}")
        full = f"{message} ({', '.join(where)})" if where else message
        super().__init__(full)
        self.message = full
        self.data = bytes(data)
        self.field = field
        self.offset = offset

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_remote, (self.message, self.data, self.field, self.offset))


def _rebuild_remote(
    message: str, data: bytes, field: str | None, offset: int | None
) -> RemoteProtocolError:
    err = RemoteProtocolError("", data=data, field=field, offset=offset)
    err.args = (message,)
    err.message = message
    return err
