"""The client's trust boundary: what it accepts from the daemon, and how it opens it.

Everything the daemon controls is checked where it is read (DESIGN.md, "The
client's trust boundary"; docs/trust-boundary.md lists every value).  This
module holds the checks more than one place needs:

* the paths the connection response (and a ring header) names are opened
  only when they are what libqb creates: a ``qb-…`` file directly in
  ``/dev/shm`` (libqb up to 1.0.3) or in a ``/dev/shm/qb-…`` directory (the
  mkdtemp directory of libqb 1.0.4 on), never through a symbolic link, a
  regular file, owned by the daemon's uid (``SO_PEERCRED``) or by ours (a
  root daemon chowns each connection's files to its client), and writable by
  nobody else;
* the OS errors that the process's own limits provoke (no fd left, no
  memory, no space) become the typed errors libquorum would report, with a
  message that names the limit;
* the arithmetic libqb does on shared 32-bit counters (they wrap).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Collection
from typing import Final

from pyquorum.errors import CsError, RemoteProtocolError, error_from_errno
from pyquorum.ipc.wire import SHM_DIR

__all__ = [
    "MAX_ERRNO",
    "RESOURCE_ERRNOS",
    "check_base_name",
    "check_server_path",
    "local_error",
    "open_server_file",
    "remove_server_file",
    "shared_state_error",
]

#: The largest errno Linux returns (MAX_ERRNO in the kernel): an error field
#: of ``-n`` with ``n`` above this is not an errno at all.
MAX_ERRNO: Final = 4095

#: Errors the process's own limits cause, not the daemon's data.
RESOURCE_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOSPC})

_PREFIX: Final = "qb-"

_HINTS: Final = {
    errno.EMFILE: (
        "this process has no file descriptor left (RLIMIT_NOFILE; raise it with "
        "`ulimit -n` or resource.setrlimit, or close unused sessions)"
    ),
    errno.ENFILE: "the system has no file descriptor left (sysctl fs.file-max)",
    errno.ENOMEM: "out of memory",
    errno.ENOSPC: f"no space left (is {SHM_DIR} full?)",
}


def local_error(exc: OSError, what: str) -> CsError:
    """``exc`` (from ``what``) as the cs_error_t class libquorum would report.

    The class comes from libquorum's errno mapping (EMFILE and ENFILE are
    CS_ERR_LIBRARY there, ENOMEM CS_ERR_NO_MEMORY, ENOSPC CS_ERR_NO_SPACE);
    the errno travels in ``.errno`` and the message says which limit to raise.
    """
    err = exc.errno or errno.EIO
    hint = _HINTS.get(err) or os.strerror(err)
    return error_from_errno(err, f"{what}: {hint}")


def shared_state_error(exc: OSError, what: str) -> CsError:
    """A libc failure on memory the daemon shares (a semaphore) as a typed error.

    ``EOVERFLOW`` from ``sem_post`` means the daemon left the count at
    SEM_VALUE_MAX; libquorum reports that errno as CS_ERR_NAME_TOO_LONG, so
    this is a NameTooLongError carrying ``errno.EOVERFLOW``.
    """
    err = exc.errno or errno.EIO
    if err in RESOURCE_ERRNOS:
        return local_error(exc, what)
    if err == errno.EOVERFLOW:
        why = "its count is at SEM_VALUE_MAX (EOVERFLOW); corosync left it corrupt"
    else:
        why = f"{os.strerror(err)}; corosync left it corrupt"
    return error_from_errno(err, f"{what}: {why}")


def _refuse(path: str, field: str, why: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"refusing the path corosync named: {path!r} {why}",
        data=os.fsencode(path),
        field=field,
    )


def check_server_path(path: str, field: str) -> list[str]:
    """The components of ``path`` below /dev/shm, if it is a name libqb makes.

    One component (``/dev/shm/qb-…``, libqb up to 1.0.3) or two
    (``/dev/shm/qb-…/qb-…``); no ``.``/``..``/empty component, nothing
    outside /dev/shm.  Anything else is a RemoteProtocolError naming ``field``.
    """
    root = SHM_DIR + "/"
    if not path.startswith(root):
        raise _refuse(path, field, f"is not under {SHM_DIR}")
    parts = path[len(root) :].split("/")
    if len(parts) > 2:
        raise _refuse(path, field, f"is nested deeper than libqb's {SHM_DIR}/qb-*/qb-*")
    for part in parts:
        if not part.startswith(_PREFIX):
            raise _refuse(path, field, f"has a component {part!r} not named {_PREFIX}*")
        if "\0" in part:
            raise _refuse(path, field, "contains a NUL byte")
    return parts


def check_base_name(name: str, field: str) -> None:
    """A base name libqb forms other names from (``…-header``, ``…-request``).

    Absolute names must pass :func:`check_server_path`; the bare names of
    libqb up to 1.0.3 must be a single, non-empty component (they are joined
    to a directory, and must not climb out of it).
    """
    if name.startswith("/"):
        check_server_path(name, field)
    elif not name or "/" in name or name in (".", "..") or "\0" in name:
        raise _refuse(name, field, "is not a bare libqb name")


def open_server_file(path: str, field: str, what: str, owners: Collection[int]) -> int:
    """Open a file the daemon named (read-write), after :func:`check_server_path`.

    Every component is opened without following symbolic links (the
    directory with ``O_NOFOLLOW | O_DIRECTORY``, the file relative to it
    with ``O_NOFOLLOW``), and each is checked with ``fstat`` on what was
    actually opened: the directory and the file must belong to a uid in
    ``owners``, and the file must be a regular file (``O_NONBLOCK`` keeps a
    FIFO from blocking the open).  Returns the fd; the caller closes it.
    """
    parts = check_server_path(path, field)
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    dir_fd: int | None = None
    try:
        if len(parts) == 2:
            dir_path = os.path.join(SHM_DIR, parts[0])
            dir_fd = _open(
                dir_path,
                os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                path,
                field,
                what,
                None,
            )
            _check_owner(os.fstat(dir_fd), path, field, owners, "its directory")
        fd = _open(parts[-1] if dir_fd is not None else path, flags, path, field, what, dir_fd)
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, field, f"is not a regular file (mode {st.st_mode:#o})")
        _check_owner(st, path, field, owners, "it")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open(
    name: str, flags: int, path: str, field: str, what: str, dir_fd: int | None
) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in RESOURCE_ERRNOS:
            raise local_error(exc, f"cannot open the {what} corosync named") from None
        if exc.errno == errno.ELOOP:
            raise _refuse(path, field, "goes through a symbolic link") from None
        if exc.errno == errno.ENOTDIR:
            raise _refuse(
                path, field, "has a directory that is a symbolic link or no directory"
            ) from None
        raise RemoteProtocolError(
            f"cannot open the {what} corosync named: {exc.strerror}",
            data=os.fsencode(path),
            field=field,
        ) from None


def _check_owner(
    st: os.stat_result, path: str, field: str, owners: Collection[int], which: str
) -> None:
    # libqb makes the directory 0770 and the files 0600: nobody else may write.
    if st.st_mode & stat.S_IWOTH:
        raise _refuse(path, field, f"is unsafe: {which} is writable by others")
    if st.st_uid not in owners:
        allowed = " or ".join(str(uid) for uid in sorted(set(owners)))
        raise _refuse(path, field, f"is unsafe: {which} belongs to uid {st.st_uid}, not {allowed}")


def remove_server_file(path: str, *, truncate_if_denied: bool = False) -> None:
    """Unlink a file the server named, and its ``qb-…`` directory if now empty.

    Only a name :func:`check_server_path` accepts, and relative to
    directories opened without following links, so a directory swapped for
    a symbolic link after the checks cannot redirect the unlink.  Errors are
    ignored (the server removes the same files; whoever is second fails).
    ``truncate_if_denied`` empties a file that may not be unlinked (opened
    with ``O_NOFOLLOW`` too).
    """
    try:
        parts = check_server_path(path, "path")
    except RemoteProtocolError:
        return
    with contextlib.suppress(OSError):
        shm_fd = os.open(SHM_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            dir_fd = shm_fd
            if len(parts) == 2:
                dir_fd = os.open(
                    parts[0],
                    os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                    dir_fd=shm_fd,
                )
            try:
                _unlink(parts[-1], dir_fd, truncate_if_denied)
            finally:
                if dir_fd != shm_fd:
                    os.close(dir_fd)
            if len(parts) == 2:
                os.rmdir(parts[0], dir_fd=shm_fd)
        finally:
            os.close(shm_fd)


def _unlink(name: str, dir_fd: int, truncate_if_denied: bool) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if not truncate_if_denied or exc.errno not in (errno.EPERM, errno.EACCES):
            return
        with contextlib.suppress(OSError):
            fd = os.open(
                name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
            )
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    os.ftruncate(fd, 0)
            finally:
                os.close(fd)
