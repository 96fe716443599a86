"""guestkit serve: launch an appliance and let other processes use it over a socket.

The server relays whole frames between one client at a time and the appliance's daemon.
It keeps track of the call in flight, so a client that disconnects in the middle of a call
(or of an upload) leaves the appliance in a clean state for the next one.
"""

import select
import ssl
import sys

from .daemon import protocol as P
from .daemon.listen import Listener, read_token


class Relay:
    def __init__(self, appliance_sock):
        self.app = appliance_sock
        self.app_reader = P.FrameReader(appliance_sock.recv_into)

    def session(self, client, client_gone=lambda: None):
        creader = P.FrameReader(client.recv_into)
        inflight = None           # serial of the call the appliance is working on
        uploading = False         # the client is still streaming a FileIn
        downloading = False       # the call in flight streams a FileOut to the client
        streams_in, streams_out = _stream_actions()
        try:
            while True:
                # one frame each way per turn: a client streaming an upload must not
                # starve the appliance's progress frames (a cancel may depend on them)
                ready = [sock for sock, rd in ((client, creader), (self.app, self.app_reader))
                         if rd.buffered()]
                if client not in ready and isinstance(client, ssl.SSLSocket) and \
                        client.pending():
                    ready.append(client)        # decrypted bytes select() cannot see
                polled, _, _ = select.select([client, self.app], [], [],
                                             0 if ready else None)
                ready += [sock for sock in polled if sock not in ready]
                if client in ready:
                    try:
                        ftype, payload = creader.read_frame()
                    except P.PeerClosed:
                        break
                    if ftype == P.CALL:
                        obj = P.loads(payload)
                        if not isinstance(obj, dict):
                            raise P.ProtocolError("CALL frame is not an object")
                        inflight = obj.get("s")
                        uploading = obj.get("n") in streams_in
                        downloading = obj.get("n") in streams_out
                    elif ftype in (P.CHUNK, P.CANCEL) and uploading:
                        if ftype == P.CANCEL or not payload:
                            uploading = False
                    P.send_frame(self.app, ftype, payload)
                if self.app in ready:
                    ftype, payload = self.app_reader.read_frame()
                    if ftype in (P.REPLY, P.ERROR) and _serial(payload) == inflight:
                        inflight = None
                    P.send_frame(client, ftype, payload)
        except (OSError, P.ProtocolError):
            pass
        # the client is gone: finish its call so the appliance is ready for the next one
        try:
            client.close()
        except OSError:
            pass
        client_gone()
        if uploading or (downloading and inflight is not None):
            P.send_frame(self.app, P.CANCEL, b"")        # nobody is there to send to or read from
        # (a malformed frame from the appliance here ends the server: the stream cannot be
        # brought back in step, and the next client must not read stale frames)
        while inflight is not None:
            ftype, payload = self.app_reader.read_frame()
            if ftype in (P.REPLY, P.ERROR) and _serial(payload) == inflight:
                inflight = None
        # unmount what the client mounted, so the next client starts from a clean slate
        P.send_frame(self.app, P.CALL, P.dumps({"s": 0, "n": "internal_autosync", "a": [], "o": {}}))
        while True:
            ftype, payload = self.app_reader.read_frame()
            if ftype in (P.REPLY, P.ERROR) and _serial(payload) == 0:
                break


def _serial(payload):
    """The call serial a REPLY or ERROR frame from the appliance answers; ProtocolError when
    the frame is not a JSON object (the appliance is not trusted)."""
    obj = P.loads(payload)
    if not isinstance(obj, dict):
        raise P.ProtocolError("the appliance sent a reply that is not an object")
    return obj.get("s")


def _stream_actions():
    """(FileIn actions, FileOut actions)."""
    from .actions import DAEMON_ACTIONS
    kinds = {n: a.streams[0].stream for n, a in DAEMON_ACTIONS.items() if a.streams}
    return ({n for n, k in kinds.items() if k == "in"},
            {n for n, k in kinds.items() if k == "out"})


def serve(g, address, token_file=None, tls=None, ready=None, insecure_plaintext=False):
    """Serve the launched handle G's appliance on ADDRESS until interrupted (see
    daemon/listen.py for what each kind of address needs)."""
    token = read_token(token_file) if token_file else None
    lst = Listener(address, token=token, tls=tls, insecure_plaintext=insecure_plaintext)
    relay = Relay(g._client.sock)
    hello = dict(g._client.hello or {})
    hello.update({"magic": P.MAGIC, "version": P.VERSION})
    print("guestkit: serving on %s" % lst.address(), file=sys.stderr, flush=True)
    if ready:
        ready(lst)
    try:
        lst.serve(hello, relay.session)
    except KeyboardInterrupt:
        pass
    finally:
        lst.close()
