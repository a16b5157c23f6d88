"""Opens one push request the way a browser's push service and user agent would, with
implementations that are not the notifier's: checks the VAPID header (RFC 8292: ES256
signature by the advertised key, `aud` the endpoint's origin, `exp` within 24 hours, `sub`
a mailto: or https: URL) and decrypts the aes128gcm body (RFC 8291) with http_ece.

Reads one JSON object on stdin:
  {"body": <base64>, "content_encoding": str, "authorization": str,
   "ua_private_key": <base64url P-256 scalar>, "auth_secret": <base64url>,
   "vapid_public_key": <base64url>, "audience": str}
Writes {"payload": <the decrypted JSON>, "claims": {...}, "header": {...}} on stdout, or a
reason on stderr and exits 1.
"""

import base64
import json
import sys
import time

import http_ece
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fail(reason):
    sys.stderr.write(reason + "\n")
    sys.exit(1)


def check_vapid(authorization, vapid_public_key, audience):
    scheme, _, params = authorization.partition(" ")
    if scheme != "vapid":
        fail(f"Authorization scheme is {scheme!r}, not vapid")
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    if fields.get("k") != vapid_public_key:
        fail(f"k={fields.get('k')!r} is not the served VAPID key")
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    header = json.loads(b64url(header_b64))
    claims = json.loads(b64url(claims_b64))
    if header.get("alg") != "ES256":
        fail(f"JWT alg is {header.get('alg')!r}")
    signature = b64url(signature_b64)
    if len(signature) != 64:
        fail(f"an ES256 signature has 64 bytes, not {len(signature)}")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url(vapid_public_key))
    # Raises InvalidSignature when the token was not signed by the advertised key.
    key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    if claims.get("aud") != audience:
        fail(f"aud={claims.get('aud')!r}, expected {audience!r}")
    now = time.time()
    if not now < claims.get("exp", 0) <= now + 24 * 3600:
        fail(f"exp={claims.get('exp')} is not within the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        fail(f"sub={claims.get('sub')!r} is not a mailto: or https: URL")
    return header, claims


def main():
    request = json.load(sys.stdin)
    if request["content_encoding"] != "aes128gcm":
        fail(f"Content-Encoding is {request['content_encoding']!r}")
    header, claims = check_vapid(
        request["authorization"], request["vapid_public_key"], request["audience"]
    )
    private_key = ec.derive_private_key(
        int.from_bytes(b64url(request["ua_private_key"]), "big"), ec.SECP256R1()
    )
    plaintext = http_ece.decrypt(
        base64.b64decode(request["body"]),
        private_key=private_key,
        auth_secret=b64url(request["auth_secret"]),
        version="aes128gcm",
    )
    json.dump({"payload": json.loads(plaintext), "claims": claims, "header": header}, sys.stdout)


if __name__ == "__main__":
    main()
