"""Compressed HTML for browsers that accept gzip, without compressing anything twice, and with BREACH in mind.

Public cached pages are compressed once, when they are stored (``pack``), and every hit only splices this
response's CSP nonce into the stored gzip stream (``gzip_with``): the nonce travels as a tiny uncompressed
DEFLATE block between the compressed parts, and the gzip checksum is corrected with a precomputed linear map
(CRC-32 is linear over GF(2)), so a hit neither compresses nor checksums the page.

BREACH (see Django's GZipMiddleware and CSRF docs): compression can leak a secret that sits in a page next to
text an attacker controls. ``SharedPageGZipMiddleware`` therefore compresses only responses that any visitor
could share — never one that sets a cookie (a CSRF token was handed out, or a session), and never a
``private`` / ``no-store`` / ``no-cache`` page (forms, the patient's booking page, admin). Public pages carry no
secret: the CSP nonce is not one an attacker can use (it changes with every response).

Brotli is not used: a stored Brotli stream cannot take a per-response value without compressing again.
"""

import gzip
import re
import struct
import zlib

from django.middleware.gzip import GZipMiddleware

MASK = 0xFFFFFFFF
# gzip member header: deflate, no flags, no time, "maximum compression", unknown OS.
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
_LAST_BLOCK = b"\x03\x00"  # a final, empty, fixed-Huffman block
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def accepts_gzip(request):
    return accepts_gzip_header(request.META.get("HTTP_ACCEPT_ENCODING", ""))


def accepts_gzip_header(accept_encoding):
    return bool(_ACCEPTS_GZIP.search(accept_encoding))


_POLY = 0xEDB88320  # CRC-32 as zlib computes it (reflected)


def _shift(register, zero_bytes):
    """The raw CRC register after `zero_bytes` zero bytes (a linear map of `register`)."""
    return zlib.crc32(zero_bytes, register ^ MASK) ^ MASK


def _shift_columns(count):
    """The map "followed by `count` zero bytes" as 32 columns (the image of each register bit), in one pass.

    One zero bit moves register bit b to bit b-1 (no feedback for b >= 1), so bit b is bit 31 moved 31-b bits:
    every column is the image of bit 31 after `count` bytes, then 31-b single zero bits.
    """
    column = _shift(1 << 31, bytes(count))
    columns = [0] * 32
    for bit in range(31, -1, -1):
        columns[bit] = column
        column = (column >> 1) ^ (_POLY if column & 1 else 0)
    return columns


def pack(body, placeholder, gap):
    """`body` compressed once; each `placeholder` becomes a slot for a value of `gap` bytes given per response.

    Returns a dict (bytes and ints only, so it pickles into the shared cache), or None when the body cannot be
    packed (a NUL byte in it: the slots are compressed as NULs, which must never match page text).
    """
    parts = body.split(placeholder)
    if len(parts) > 1 and (b"\0" in body or not 0 < gap < 65536):
        return None
    fill = b"\0" * gap
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    chunks = []
    for i, part in enumerate(parts):
        if i:
            # The compressor sees the slot (so later back-references keep their distances); its output for the
            # slot is dropped and replaced by each response's value.
            compressor.compress(fill)
            compressor.flush(zlib.Z_SYNC_FLUSH)
        chunks.append(compressor.compress(part) + compressor.flush(zlib.Z_SYNC_FLUSH))
    filled = fill.join(parts)
    # The checksum of the page with value V in every slot = crc(filled) ^ M(crc(V) ^ crc(fill)), where M is
    # the linear map "followed by the rest of the page", summed over the slots; M is stored as 32 columns.
    columns = [0] * 32
    tail = len(filled)
    for part in parts[:-1]:
        tail -= len(part) + gap
        for bit, column in enumerate(_shift_columns(tail)):
            columns[bit] ^= column
    return {
        "chunks": chunks,
        "gap": gap if len(parts) > 1 else 0,
        "crc": zlib.crc32(filled),
        "fill_crc": zlib.crc32(fill),
        "columns": columns,
        "size": len(filled),
    }


def gzip_with(packed, value):
    """The stored page as a gzip stream with `value` (bytes of the packed gap length) in every slot."""
    chunks = packed["chunks"]
    crc = packed["crc"]
    if len(chunks) > 1:
        if len(value) != packed["gap"]:
            return gzip.compress(plain_with(packed, value), 6)  # a value of another length: compress afresh
        register, bit = zlib.crc32(value) ^ packed["fill_crc"], 0
        columns = packed["columns"]
        while register:
            if register & 1:
                crc ^= columns[bit]
            register >>= 1
            bit += 1
        body = _stored(value).join(chunks)
    else:
        body = chunks[0]
    return b"".join((_HEADER, body, _LAST_BLOCK, struct.pack("<II", crc & MASK, packed["size"] & MASK)))


def plain_with(packed, value):
    """The stored page uncompressed, with `value` in every slot (for clients that do not take gzip)."""
    fill = bytes(packed["gap"])
    filled = zlib.decompress(_stored(fill).join(packed["chunks"]) + _LAST_BLOCK, -15)
    return value.join(filled.split(fill)) if fill else filled


def _stored(value):
    """`value` as an uncompressed DEFLATE block (the stream is byte-aligned after each sync flush)."""
    return b"\x00" + struct.pack("<HH", len(value), len(value) ^ 0xFFFF) + value


class SharedPageGZipMiddleware(GZipMiddleware):
    """Django's gzip (with its random padding against BREACH) for shareable responses only (see above)."""

    def process_response(self, request, response):
        if response.cookies or response.streaming:
            return response
        cache_control = response.get("Cache-Control", "").lower()
        if any(word in cache_control for word in ("private", "no-store", "no-cache")):
            return response
        content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if not (content_type.startswith("text/") or content_type.endswith(("+xml", "/xml", "json"))):
            return response
        return super().process_response(request, response)
