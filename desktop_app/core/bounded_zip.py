"""Reading one entry of an untrusted zip (a ``.docx``, ``.odt``, ``.epub``) up to a limit.

A zip entry declares its decompressed size, and a hostile one lies about it: 40 kB may
inflate to gigabytes (a zip bomb). :func:`member_chunks` refuses an entry whose declared
size passes the limit before reading a byte, then counts what it really inflates to and
stops one chunk past the limit, so memory never holds more than the limit and one chunk.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

_CHUNK = 1 << 20


class TooLarge(ValueError):
    """The entry inflates past the limit; the message says by how much, as "N MB"."""


def member_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int
                  ) -> Iterator[bytes]:
    """The entry's decompressed bytes in chunks of at most 1 MB, all together at most
    ``limit`` bytes; :class:`TooLarge` when it declares or inflates to more."""
    if info.file_size > limit:
        raise TooLarge(f"{info.file_size / (1 << 20):,.0f} MB; at most {limit >> 20} MB")
    read = 0
    with archive.open(info) as stream:       # the declared size may lie: count
        while chunk := stream.read(min(_CHUNK, limit - read + 1)):
            read += len(chunk)
            if read > limit:
                raise TooLarge(f"over {limit >> 20} MB")
            yield chunk
