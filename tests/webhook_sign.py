#!/usr/bin/env python3
"""webhook_sign.py - sign a webhook delivery as its sender would.

Written from the providers' documentation with python's hmac, hashlib and
base64 only, separately from host/whsig.c, so the tests check the receiver
against signatures it did not make.

  webhook_sign.py SCHEME SECRET BODYFILE [--id ID] [--ts SECONDS]
      [--header NAME] [--prefix P] [--base64] [--sha1] [--extra-sig]

prints the headers to send, one "Name: value" per line. --extra-sig adds a
wrong signature before the right one (key rotation: any one valid passes).
With --send URL it POSTs the delivery instead and prints the HTTP status
and the response body; --tamper changes the body after signing, --drop NAME
leaves a header out, --ts-offset S signs a time S seconds from now,
--content-type sets that header, --method the method, --event GitHub's
event name, --cafile the CA to trust for an https URL.
"""
import argparse
import base64
import hashlib
import hmac
import sys
import time
import urllib.error
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scheme")
    ap.add_argument("secret")
    ap.add_argument("body")
    ap.add_argument("--id", default="msg_1")
    ap.add_argument("--ts", type=int, default=None)
    ap.add_argument("--header", default="X-Signature")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--base64", action="store_true")
    ap.add_argument("--sha1", action="store_true")
    ap.add_argument("--extra-sig", action="store_true")
    ap.add_argument("--send")
    ap.add_argument("--tamper", action="store_true")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--ts-offset", type=int, default=0)
    ap.add_argument("--content-type")
    ap.add_argument("--method", default="POST")
    ap.add_argument("--event", default="push")
    ap.add_argument("--cafile")
    a = ap.parse_args()
    with open(a.body, "rb") as f:
        body = f.read()
    ts = str(a.ts if a.ts is not None else int(time.time()) + a.ts_offset)
    key = a.secret.encode()
    out = []
    wrong = hmac.new(b"not the secret", body, hashlib.sha256)
    if a.scheme == "standard":
        sk = a.secret[6:] if a.secret.startswith("whsec_") else a.secret
        mac = hmac.new(base64.b64decode(sk),
                       a.id.encode() + b"." + ts.encode() + b"." + body,
                       hashlib.sha256).digest()
        sig = "v1," + base64.b64encode(mac).decode()
        if a.extra_sig:
            sig = "v1," + base64.b64encode(wrong.digest()).decode() + " " + sig
        out += [("webhook-id", a.id), ("webhook-timestamp", ts),
                ("webhook-signature", sig), ("Content-Type", "application/json")]
    elif a.scheme == "github":
        sig = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        out += [("X-GitHub-Delivery", a.id), ("X-GitHub-Event", a.event),
                ("X-Hub-Signature-256", sig),
                ("Content-Type", "application/json")]
    elif a.scheme == "stripe":
        mac = hmac.new(key, ts.encode() + b"." + body, hashlib.sha256)
        sig = "t=" + ts
        if a.extra_sig:
            sig += ",v1=" + wrong.hexdigest()
        sig += ",v1=" + mac.hexdigest() + ",v0=" + "00" * 32
        out += [("Stripe-Signature", sig), ("Content-Type", "application/json")]
    elif a.scheme == "slack":
        mac = hmac.new(key, b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
        out += [("X-Slack-Request-Timestamp", ts),
                ("X-Slack-Signature", "v0=" + mac.hexdigest()),
                ("Content-Type", "application/json")]
    elif a.scheme == "generic":
        md = hashlib.sha1 if a.sha1 else hashlib.sha256
        mac = hmac.new(key, body, md)
        enc = base64.b64encode(mac.digest()).decode() if a.base64 \
            else mac.hexdigest()
        sig = a.prefix + enc
        if a.extra_sig:
            sig = a.prefix + wrong.hexdigest() + "," + sig
        out += [(a.header, sig), ("X-Delivery", a.id),
                ("Content-Type", "application/json")]
    else:
        sys.exit("unknown scheme " + a.scheme)
    if not a.send:
        for k, v in out:
            print("%s: %s" % (k, v))
        return
    hdrs = {k: v for k, v in out if k not in a.drop}
    if a.content_type:
        hdrs["Content-Type"] = a.content_type
    if a.tamper:
        body = body + b" "
    req = urllib.request.Request(a.send, data=body, headers=hdrs,
                                 method=a.method)
    ctx = None
    if a.cafile:
        import ssl
        ctx = ssl.create_default_context(cafile=a.cafile)
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode())


main()
