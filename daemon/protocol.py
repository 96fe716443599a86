"""The wire protocol between the library and guestkitd (standard library only).

A session is a sequence of frames over any byte stream (virtio-serial port, unix socket,
TCP).  A frame is::

    length   4 bytes, big endian: the number of bytes that follow (type + payload)
    type     1 byte
    payload  length - 1 bytes

Frame types:

    HELLO     daemon -> library, once at the start: JSON {"magic", "version", ...}
    CALL      library -> daemon: JSON {"s": serial, "n": action, "a": [args], "o": {optargs}}
    REPLY     daemon -> library: JSON {"s": serial, "r": result}
    ERROR     daemon -> library: JSON {"s": serial, "errno": "ENOENT", "msg": "..."}
    PROGRESS  daemon -> library: JSON {"s": serial, "pos": n, "total": n}
    CHUNK     either way: raw bytes of a FileIn/FileOut stream; an empty chunk ends it
    CANCEL    either way, inside a stream: the sender gives up the stream
    LOG       daemon -> library: UTF-8 text for verbose mode

Every length is bounded (MAX_FRAME); JSON payloads are bounded more tightly (MAX_JSON).  A
frame that breaks a rule raises ProtocolError and the session is over: the reader never
waits for bytes that a wrong length promised.

Bytes values inside JSON are carried as {"$b": "<base64>"}; strings that are not valid
UTF-8 (guest file names) travel as surrogate-escaped str, which JSON keeps intact.
"""

import base64
import json
import struct

MAGIC = "guestkitd"
VERSION = 1

HELLO, CALL, REPLY, ERROR, PROGRESS, CHUNK, CANCEL, LOG = range(1, 9)
TYPE_NAMES = {HELLO: "HELLO", CALL: "CALL", REPLY: "REPLY", ERROR: "ERROR",
              PROGRESS: "PROGRESS", CHUNK: "CHUNK", CANCEL: "CANCEL", LOG: "LOG"}

#: largest stream chunk a sender produces
CHUNK_SIZE = 1 << 20
#: largest frame a reader accepts (a chunk plus its type byte, with room to spare)
MAX_FRAME = 4 << 20
#: largest JSON payload (calls, replies with big lists); results bigger than this are an error
MAX_JSON = 64 << 20

_HDR = struct.Struct(">I")


class ProtocolError(Exception):
    """The peer broke the protocol; the session cannot go on."""


class PeerClosed(ProtocolError):
    """The peer closed the stream."""


# ---- JSON with bytes ----------------------------------------------------------------------

def _enc_default(o):
    if isinstance(o, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(o)).decode("ascii")}
    raise TypeError("cannot encode %s" % type(o).__name__)


def _dec_hook(d):
    if len(d) == 1 and "$b" in d:
        v = d["$b"]
        if not isinstance(v, str):
            raise ProtocolError("malformed bytes value")
        try:
            return base64.b64decode(v, validate=True)
        except ValueError:
            raise ProtocolError("malformed base64 in frame") from None
    return d


def dumps(obj):
    return json.dumps(obj, default=_enc_default, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


def loads(data):
    try:
        text = bytes(data).decode("utf-8", "surrogatepass")
        return json.loads(text, object_hook=_dec_hook)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as e:
        raise ProtocolError("malformed JSON in frame: %s" % e) from None


# ---- framing --------------------------------------------------------------------------------

def encode(ftype, payload=b""):
    """One frame as bytes."""
    return _HDR.pack(len(payload) + 1) + bytes((ftype,)) + payload


class FrameReader:
    """Reads frames from a file descriptor or socket through a large buffer."""

    def __init__(self, read, max_frame=MAX_FRAME, max_json=MAX_JSON):
        self._read = read          # read(n) -> bytes, b"" on EOF
        self._buf = bytearray()
        self._pos = 0
        self.max_frame = max_frame
        self.max_json = max_json

    def buffered(self):
        return len(self._buf) - self._pos

    def _fill(self, need):
        while len(self._buf) - self._pos < need:
            if self._pos and self._pos > (1 << 20):
                del self._buf[:self._pos]
                self._pos = 0
            data = self._read(max(need - (len(self._buf) - self._pos), 1 << 18))
            if not data:
                if len(self._buf) - self._pos:
                    raise ProtocolError("stream ended in the middle of a frame")
                raise PeerClosed("the other side closed the connection")
            self._buf += data

    def _take(self, n):
        self._fill(n)
        out = bytes(self._buf[self._pos:self._pos + n])
        self._pos += n
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        return out

    def read_frame(self):
        """Return (type, payload bytes)."""
        (length,) = _HDR.unpack(self._take(4))
        if length < 1:
            raise ProtocolError("frame of length 0")
        ftype_peek = None
        if length > self.max_frame:
            # a JSON reply may legitimately be larger than a chunk, up to max_json
            self._fill(1)
            ftype_peek = self._buf[self._pos]
            if ftype_peek not in (REPLY, CALL) or length > self.max_json:
                raise ProtocolError("frame of %d bytes exceeds the limit of %d" % (
                    length, self.max_frame if ftype_peek not in (REPLY, CALL)
                    else self.max_json))
        body = self._take(length)
        ftype = body[0]
        if ftype not in TYPE_NAMES:
            raise ProtocolError("unknown frame type %d" % ftype)
        return ftype, body[1:]

    def read_json(self, expect=None):
        ftype, payload = self.read_frame()
        if ftype in (CHUNK, CANCEL):
            return ftype, payload
        obj = loads(payload)
        if not isinstance(obj, dict):
            raise ProtocolError("%s frame does not hold an object" % TYPE_NAMES[ftype])
        if expect is not None and ftype not in expect:
            raise ProtocolError("unexpected %s frame" % TYPE_NAMES[ftype])
        return ftype, obj
