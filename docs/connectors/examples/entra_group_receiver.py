#!/usr/bin/env python3
"""A jitd webhook receiver that grants Microsoft Entra ID group membership.

Standard library only. See docs/connectors/webhook.md for the wire format.

Environment:
  JITD_WEBHOOK_SECRET_FILE  the connector's secret_file (same key)
  ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET_FILE
                            a Graph app with GroupMember.ReadWrite.All,
                            User.Read.All (and User.RevokeSessions.All)
  TLS_CERT, TLS_KEY         serve https (jitd requires it off loopback)
Usage: entra_group_receiver.py HOST:PORT
Entitlement params: {"group_id": "<Entra group object id>"};
target_user is the user principal name.
"""
import hashlib
import hmac
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

GRAPH = "https://graph.microsoft.com/v1.0"
REPLAY_WINDOW = 300  # seconds
MAX_BODY = 64 * 1024


def read_secret(name):
    with open(os.environ[name], "rb") as f:
        return f.read().rstrip()


SIGNING_KEY = read_secret("JITD_WEBHOOK_SECRET_FILE")


class Retryable(Exception):
    """Graph throttled or failed: jitd should try again (answer 503)."""


class Refused(Exception):
    """Graph refused: retrying will not help (answer 422)."""


class Graph:
    def __init__(self):
        self.token, self.token_expiry = None, 0

    def _token(self):
        if self.token and time.time() < self.token_expiry - 60:
            return self.token
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials",
            "client_id": os.environ["ENTRA_CLIENT_ID"],
            "client_secret": read_secret("ENTRA_CLIENT_SECRET_FILE").decode(),
            "scope": "https://graph.microsoft.com/.default",
        }).encode()
        url = ("https://login.microsoftonline.com/%s/oauth2/v2.0/token"
               % os.environ["ENTRA_TENANT_ID"])
        answer = self._send(urllib.request.Request(url, data=form))
        self.token = answer["access_token"]
        self.token_expiry = time.time() + int(answer.get("expires_in", 600))
        return self.token

    def _send(self, request):
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                body = r.read()
                return json.loads(body) if body else {}
        except urllib.error.HTTPError as e:
            if e.code == 429 or e.code >= 500:
                raise Retryable("Graph answered %d" % e.code)
            e.graph_code = e.code
            raise
        except OSError as e:
            raise Retryable("Graph unreachable: %s" % e)

    def call(self, method, path, body=None, ok_codes=()):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(GRAPH + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self._token())
        request.add_header("Content-Type", "application/json")
        try:
            return self._send(request)
        except urllib.error.HTTPError as e:
            if e.code in ok_codes:
                return {}
            raise Refused("Graph %s %s answered %d" % (method, path, e.code))

    def user_id(self, upn):
        quoted = urllib.parse.quote(upn, safe="@")
        return self.call("GET", "/users/%s?$select=id" % quoted)["id"]


graph = Graph()


def handle(delivery):
    """Applies one verified delivery; returns the JSON answer."""
    group = delivery["params"]["group_id"]
    user = graph.user_id(delivery["target_user"])
    action = delivery["action"]
    if action == "grant":
        # 400 "object references already exist": already a member, fine.
        graph.call("POST", "/groups/%s/members/$ref" % group,
                   {"@odata.id": GRAPH + "/directoryObjects/" + user},
                   ok_codes=(400,))
        return {}
    if action == "revoke":
        graph.call("DELETE", "/groups/%s/members/%s/$ref" % (group, user),
                   ok_codes=(404,))
        return {}
    if action == "check":
        found = graph.call("POST", "/users/%s/checkMemberGroups" % user,
                           {"groupIds": [group]})
        return {"active": group in found.get("value", [])}
    if action == "sessions":
        return {"sessions": []}  # Graph does not list sign-in sessions
    if action == "kill_sessions":
        graph.call("POST", "/users/%s/revokeSignInSessions" % user, {})
        return {"sessions": []}
    raise Refused("unknown action %r" % action)


# delivery_id -> (time, status, answer): every attempt of one delivery gets
# the first answer again.
seen = {}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            return self.answer(413, {"error": "too large"})
        raw = self.rfile.read(length)
        why = self.verify(raw)
        if why:
            return self.answer(401, {"error": why})
        delivery = json.loads(raw)
        now = time.time()
        for old in [d for d, (t, _, _) in seen.items()
                    if t < now - REPLAY_WINDOW]:
            del seen[old]
        if delivery["delivery_id"] in seen:
            _, status, answer = seen[delivery["delivery_id"]]
            return self.answer(status, answer)
        try:
            status, answer = 200, handle(delivery)
        except Retryable as e:
            return self.answer(503, {"error": str(e)})  # not cached: retry
        except (Refused, KeyError) as e:
            status, answer = 422, {"error": str(e)}
        seen[delivery["delivery_id"]] = (now, status, answer)
        self.answer(status, answer)

    def verify(self, raw):
        ts = self.headers.get("X-Jitd-Timestamp", "")
        if not ts.isdigit():
            return "missing timestamp"
        mac = hmac.new(SIGNING_KEY, ts.encode() + b"." + raw, hashlib.sha256)
        expected = "v1=" + mac.hexdigest()
        if not hmac.compare_digest(expected,
                                   self.headers.get("X-Jitd-Signature", "")):
            return "bad signature"
        if abs(time.time() - int(ts)) > REPLAY_WINDOW:
            return "timestamp outside the replay window"
        try:
            delivery_id = json.loads(raw)["delivery_id"]
        except (ValueError, KeyError, TypeError):
            return "body is not a delivery"
        if delivery_id != self.headers.get("X-Jitd-Delivery"):
            return "delivery id mismatch"
        return None

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    server = HTTPServer((host, int(port)), Receiver)
    if os.environ.get("TLS_CERT"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["TLS_CERT"], os.environ["TLS_KEY"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
