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
    AUTH      library -> listening server, first frame on TCP: JSON {"token": "..."}
    TTY       either way, only inside a rescue session (internal_rescue, below): one
              terminal message, a kind byte and its body

A listening server (guestkitd --listen, guestkit serve) may answer a new connection with an
ERROR frame of serial 0 instead of HELLO: busy, or authentication failed.

Every length is bounded (MAX_FRAME); JSON payloads are bounded more tightly (MAX_JSON).  A
frame that breaks a rule raises ProtocolError and the session is over: the reader never
waits for bytes that a wrong length promised.

A rescue session (guestkit rescue) takes the stream over between its CALL and its REPLY:
the library sends TTY messages IN (keys), WINCH (>HH rows, cols), EOF, SIGNAL (one byte:
the signal number), SYSRQ (one byte), HANGUP; the daemon sends OUT and ERR (the shell's
output), then EXIT (>i status) once the shell has ended.  The library answers EXIT with
END and sends nothing more; the daemon reads up to that END, then sends the REPLY (the
status).  A message's body is at most TTY_DATA bytes.

Bytes values inside JSON are carried as {"$b": "<base64>"}; strings that are not valid
UTF-8 (guest file names) travel as surrogate-escaped str, which JSON keeps intact.
"""

import base64
import json
import json.scanner
import struct

MAGIC = "guestkitd"
VERSION = 1

HELLO, CALL, REPLY, ERROR, PROGRESS, CHUNK, CANCEL, LOG, AUTH, TTY = range(1, 11)
TYPE_NAMES = {HELLO: "HELLO", CALL: "CALL", REPLY: "REPLY", ERROR: "ERROR",
              PROGRESS: "PROGRESS", CHUNK: "CHUNK", CANCEL: "CANCEL", LOG: "LOG",
              AUTH: "AUTH", TTY: "TTY"}

#: largest stream chunk a sender produces
CHUNK_SIZE = 1 << 20
#: largest frame a reader accepts (a chunk plus its type byte, with room to spare)
MAX_FRAME = 4 << 20
#: largest JSON payload (calls, replies with big lists); results bigger than this are an error
MAX_JSON = 64 << 20

_HDR = struct.Struct(">I")
#: a frame's 5 header bytes: length (of type + payload) and type
FRAME_HEADER = struct.Struct(">IB")
#: payloads up to this size are sent joined to their header, in one buffer
SMALL_FRAME = 64 << 10


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


# made once: json.dumps/json.loads with options build a new encoder/decoder on every call,
# which costs more than the encoding itself for a small frame (tens of microseconds under TCG)
_ENCODER = json.JSONEncoder(default=_enc_default, separators=(",", ":"))
_DECODER = json.JSONDecoder(object_hook=_dec_hook)


def dumps(obj):
    return _ENCODER.encode(obj).encode("utf-8", "surrogatepass")


def dumps_reply(serial, result):
    """dumps({"s": SERIAL, "r": RESULT}), written directly for the usual scalar results
    (the encoder builds its C state on every call: most of the cost of a small reply)."""
    t = type(result)
    if type(serial) is int:
        if t is bool:
            r = "true" if result else "false"
        elif t is int:
            r = str(result)
        elif result is None:
            r = "null"
        elif t is str:
            r = json.encoder.encode_basestring_ascii(result)
        else:
            r = None
        if r is not None:
            return ('{"s":%d,"r":%s}' % (serial, r)).encode("ascii")
    return dumps({"s": serial, "r": result})


# the decoders' C scanners, called directly: json.loads goes through three Python functions
# (type checks, decode, raw_decode) before it reaches them, which costs more than the scan of
# a small frame (a call, a scalar reply), and far more in an appliance emulated by TCG
_SCAN = json.scanner.make_scanner(json.JSONDecoder())
_SCAN_B = json.scanner.make_scanner(_DECODER)


_scalar_json = {str: json.encoder.encode_basestring_ascii, int: int.__repr__,
                bool: lambda v: "true" if v else "false", type(None): lambda v: "null"}


def dumps_call(serial, name, args, optargs):
    """dumps({"s": SERIAL, "n": NAME, "a": ARGS, "o": OPTARGS}), written directly when every
    argument is a string, an int, a bool or None (as the encoder writes them)."""
    try:
        enc = _scalar_json
        a = ",".join([enc[type(v)](v) for v in args])
        o = ",".join([enc[str](k) + ":" + enc[type(v)](v) for k, v in optargs.items()]) \
            if optargs else ""
    except (KeyError, TypeError):       # bytes, lists, floats ...: the encoder
        return dumps({"s": serial, "n": name, "a": args, "o": optargs})
    return ('{"s":%d,"n":%s,"a":[%s],"o":{%s}}' % (
        serial, enc[str](name), a, o)).encode("ascii")


def loads(data):
    try:
        text = str(data, "utf-8", "surrogatepass")
        try:
            # the whole text must be one value; anything else (spaces around it, a syntax
            # error) takes the slow path, which accepts or reports it as json.loads does
            obj, end = (_SCAN(text, 0) if '"$b"' not in text else _SCAN_B(text, 0))
            if end == len(text):
                return obj
        except StopIteration:
            pass
        if '"$b"' not in text:
            return json.loads(text)         # no bytes inside: the plain C decoder, no hook
        return _DECODER.decode(text)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as e:
        raise ProtocolError("malformed JSON in frame: %s" % e) from None


# ---- framing --------------------------------------------------------------------------------

def encode(ftype, payload=b""):
    """One frame as bytes."""
    return FRAME_HEADER.pack(len(payload) + 1, ftype) + payload


def header(ftype, size):
    """The 5 bytes that precede a payload of SIZE bytes."""
    return FRAME_HEADER.pack(size + 1, ftype)


def write_frame(writev, ftype, payload=b""):
    """Send one frame; a large payload goes with scatter/gather writes (no copy).

    writev(list of buffers) -> bytes written, as os.writev or socket.sendmsg."""
    if len(payload) <= SMALL_FRAME:
        # one joined buffer: cheaper than scatter/gather for small frames (every reply)
        bufs = [memoryview(header(ftype, len(payload)) + bytes(payload))]
    else:
        bufs = [memoryview(header(ftype, len(payload))), memoryview(payload).cast("B")]
    while bufs:
        n = writev(bufs)
        while n and bufs:
            if n >= len(bufs[0]):
                n -= len(bufs[0])
                bufs.pop(0)
            else:
                bufs[0] = bufs[0][n:]
                n = 0


def send_frame(sock, ftype, payload=b""):
    """Send one frame on socket SOCK: a small one as one joined buffer; a large one with
    scatter/gather on a plain socket (a TLS socket has no sendmsg: it says so before sending
    anything, and gets one joined buffer)."""
    if len(payload) <= SMALL_FRAME:
        sock.sendall(FRAME_HEADER.pack(len(payload) + 1, ftype) + payload)
        return
    try:
        write_frame(sock.sendmsg, ftype, payload)
    except NotImplementedError:
        sock.sendall(encode(ftype, payload))


class FrameReader:
    """Reads frames through one preallocated buffer (no allocation per read: a large
    os.read or recv would map and unmap memory every time).

    readinto(memoryview) -> number of bytes read, 0 on EOF.
    """

    BUFSIZE = 2 << 20

    def __init__(self, readinto, max_frame=MAX_FRAME, max_json=MAX_JSON):
        self._readinto = readinto
        self._buf = bytearray(self.BUFSIZE)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self.max_frame = max_frame
        self.max_json = max_json

    def buffered(self):
        return self._end - self._start

    def _fill(self, need):
        """Make sure NEED bytes are buffered (NEED <= BUFSIZE)."""
        while self._end - self._start < need:
            if self._start and (self.BUFSIZE - self._start < need or self._end == self._start):
                n = self._end - self._start
                self._buf[:n] = self._view[self._start:self._end]
                self._start, self._end = 0, n
            got = self._readinto(self._view[self._end:])
            if not got:
                if self._end - self._start:
                    raise ProtocolError("stream ended in the middle of a frame")
                raise PeerClosed("the other side closed the connection")
            self._end += got

    def _fill_header(self):
        """Make sure a frame's 5 header bytes are buffered."""
        if self._start == self._end:
            # nothing buffered (between calls, always): read at the start of the buffer
            got = self._readinto(self._view)
            if not got:
                raise PeerClosed("the other side closed the connection")
            self._start, self._end = 0, got
        if self._end - self._start < 4:
            self._fill(4)
        if not _HDR.unpack_from(self._buf, self._start)[0]:
            raise ProtocolError("frame of length 0")           # it promises no type byte
        if self._end - self._start < 5:
            self._fill(5)

    def read_frame(self):
        """Return (type, payload bytes)."""
        if self._end - self._start < 5:
            self._fill_header()
        start = self._start
        (length,) = _HDR.unpack_from(self._buf, start)
        ftype = self._buf[start + 4]
        if length < 1:
            raise ProtocolError("frame of length 0")
        if ftype not in TYPE_NAMES:
            raise ProtocolError("unknown frame type %d" % ftype)
        if length > self.max_frame and (ftype not in (REPLY, CALL) or length > self.max_json):
            raise ProtocolError("frame of %d bytes exceeds the limit of %d" % (
                length, self.max_json if ftype in (REPLY, CALL) else self.max_frame))
        end = start + 4 + length
        if end <= self._end:
            # the whole frame is buffered already (a call, a reply): no more calls
            self._start = end
            return ftype, bytes(self._view[start + 5:end])
        self._start = start + 5
        size = length - 1
        if size <= self.BUFSIZE:
            self._fill(size)
            payload = bytes(self._view[self._start:self._start + size])
            self._start += size
            return ftype, payload
        # a big JSON reply: assemble it outside the ring
        out = bytearray(size)
        have = self._end - self._start
        out[:have] = self._view[self._start:self._end]
        self._start = self._end = 0
        mv = memoryview(out)
        while have < size:
            got = self._readinto(mv[have:])
            if not got:
                raise ProtocolError("stream ended in the middle of a frame")
            have += got
        return ftype, bytes(out)

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


# ---- rescue sessions: TTY messages ---------------------------------------------------------

#: TTY message kinds, library -> daemon
TTY_IN, TTY_WINCH, TTY_EOF, TTY_SIGNAL, TTY_SYSRQ, TTY_HANGUP, TTY_END = b"iweSyhq"
#: TTY message kinds, daemon -> library
TTY_OUT, TTY_ERR, TTY_EXIT = b"orx"
#: the largest body of a TTY message
TTY_DATA = 64 << 10
#: the signals a library may send to the shell's foreground job
TTY_SIGNALS = (1, 2, 3, 15, 20)          # HUP, INT, QUIT, TERM, TSTP
#: the magic SysRq keys a library may send: s (sync), u (remount read-only)
TTY_SYSRQ_KEYS = b"su"
_TTY_BODY = {TTY_IN: None, TTY_OUT: None, TTY_ERR: None, TTY_WINCH: struct.Struct(">HH"),
             TTY_EXIT: struct.Struct(">i"), TTY_SIGNAL: struct.Struct(">B"),
             TTY_SYSRQ: struct.Struct(">B"), TTY_EOF: b"", TTY_HANGUP: b"", TTY_END: b""}


def tty_message(kind, *values):
    """The payload of a TTY frame: KIND and its body (bytes for IN/OUT/ERR, else the
    numbers its format holds)."""
    fmt = _TTY_BODY[kind]
    if fmt is None:
        (body,) = values
    elif isinstance(fmt, struct.Struct):
        body = fmt.pack(*values)
    else:
        body = b""
    return bytes((kind,)) + bytes(body)


def parse_tty(payload, allowed):
    """(kind, value) of a TTY frame's PAYLOAD, KIND one of ALLOWED (bytes of kinds): value
    is the data for IN/OUT/ERR, a tuple of numbers for WINCH, the number for EXIT, SIGNAL,
    SYSRQ, None for the others.  Anything else raises ProtocolError."""
    if not payload or payload[0] not in allowed:
        raise ProtocolError("unexpected TTY message %r" % bytes(payload[:1]))
    kind, body = payload[0], payload[1:]
    fmt = _TTY_BODY[kind]
    if len(body) > TTY_DATA:
        raise ProtocolError("TTY message of %d bytes exceeds the limit of %d"
                            % (len(body), TTY_DATA))
    if fmt is None:
        return kind, bytes(body)
    size = fmt.size if isinstance(fmt, struct.Struct) else 0
    if len(body) != size:
        raise ProtocolError("TTY message %r of %d bytes instead of %d"
                            % (chr(kind), len(body), size))
    if not size:
        return kind, None
    values = fmt.unpack(body)
    if kind == TTY_SIGNAL and values[0] not in TTY_SIGNALS:
        raise ProtocolError("signal %d may not be sent to a rescue shell" % values[0])
    if kind == TTY_SYSRQ and values[0] not in TTY_SYSRQ_KEYS:
        raise ProtocolError("SysRq key %d is not allowed" % values[0])
    return kind, values if len(values) > 1 else values[0]
