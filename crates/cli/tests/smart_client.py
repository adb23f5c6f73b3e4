#!/usr/bin/env python3
"""A SMART Backend Services client for certbound's tests, written from the
specs (RFC 7515, 7517, 7518, 7523; SMART App Launch 2.x Backend Services),
not from certbound's code: it makes the public JWKs of keys openssl made,
signs client assertions, and serves a JWKS over https.

    smart_client.py jwk --key KEY.pem --kid KID [--alg ALG]
        Print the public JWK of a PEM private key (RSA, EC P-256/P-384).

    smart_client.py assert --key KEY.pem --alg ALG --kid KID --client-id ID
        --aud URL [--exp-in SECS] [--jti JTI] [--iss ISS] [--jku URL]
        [--header-alg ALG]
        Print a client assertion: header {alg, typ: JWT, kid[, jku]}, claims
        iss = sub = client_id (unless --iss), aud, exp = now + 240 s (or
        --exp-in), iat, jti (random unless given). ALG is RS256, RS384,
        RS512, PS256, PS384, PS512, ES256 or ES384. --header-alg writes
        another alg into the header: `none` leaves the signature empty,
        `HS256` signs with HMAC keyed by the public key's PEM (the classic
        algorithm-confusion attack).

    smart_client.py serve-jwks (--cert CERT.pem --key KEY.pem | --plain) --file JWKS.json
        Serve JWKS.json (read again on every request) over https (or plain
        http, as an API upstream) on 127.0.0.1, on a port the OS chooses,
        printed on the first line of stdout. Each GET appends its path to
        JWKS.json.hits.

Works with Debian 12's python3-cryptography (38) and newer releases.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return n.to_bytes(length, "big")


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def public_jwk(key, kid, alg=None):
    pub = key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        numbers = pub.public_numbers()
        jwk = {"kty": "RSA", "n": b64(int_bytes(numbers.n)), "e": b64(int_bytes(numbers.e))}
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        size = {"secp256r1": 32, "secp384r1": 48}[pub.curve.name]
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[pub.curve.name]
        numbers = pub.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": b64(int_bytes(numbers.x, size)),
            "y": b64(int_bytes(numbers.y, size)),
        }
    else:
        raise SystemExit("only RSA and EC keys")
    jwk["kid"] = kid
    jwk["use"] = "sig"
    if alg:
        jwk["alg"] = alg
    return jwk


HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def sign(key, alg, data):
    digest = HASHES[alg[2:]]()
    if alg.startswith("RS"):
        return key.sign(data, padding.PKCS1v15(), digest)
    if alg.startswith("PS"):
        # RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return key.sign(data, pss, digest)
    if alg.startswith("ES"):
        # RFC 7518 §3.4: r || s, each as long as the curve's order.
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        return int_bytes(r, size) + int_bytes(s, size)
    raise SystemExit(f"unknown alg {alg}")


def assertion(args):
    key = load_key(args.key)
    now = int(time.time())
    header = {"alg": args.header_alg or args.alg, "typ": "JWT", "kid": args.kid}
    if args.jku:
        header["jku"] = args.jku
    claims = {
        "iss": args.iss or args.client_id,
        "sub": args.client_id,
        "aud": args.aud,
        "exp": now + args.exp_in,
        "iat": now,
        "jti": args.jti or str(uuid.uuid4()),
    }
    signing_input = (
        b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    ).encode("ascii")
    if args.header_alg == "none":
        signature = b""
    elif args.header_alg == "HS256":
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    else:
        signature = sign(key, args.alg, signing_input)
    print(signing_input.decode("ascii") + "." + b64(signature))


class JwksHandler(http.server.BaseHTTPRequestHandler):
    path_to_file = None

    def do_GET(self):
        with open(self.path_to_file, "rb") as f:
            body = f.read()
        with open(self.path_to_file + ".hits", "a") as hits:
            hits.write(self.path + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_jwks(args):
    JwksHandler.path_to_file = os.path.abspath(args.file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    if not args.plain:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("jwk")
    p.add_argument("--key", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--alg")
    p = sub.add_parser("assert")
    p.add_argument("--key", required=True)
    p.add_argument("--alg", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--exp-in", type=int, default=240)
    p.add_argument("--jti")
    p.add_argument("--iss")
    p.add_argument("--jku")
    p.add_argument("--header-alg")
    p = sub.add_parser("serve-jwks")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--plain", action="store_true")
    p.add_argument("--file", required=True)
    args = parser.parse_args()
    if args.command == "jwk":
        print(json.dumps(public_jwk(load_key(args.key), args.kid, args.alg)))
    elif args.command == "assert":
        assertion(args)
    else:
        serve_jwks(args)


if __name__ == "__main__":
    sys.exit(main())
