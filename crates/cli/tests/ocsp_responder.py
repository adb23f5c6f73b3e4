#!/usr/bin/env python3
"""A small OCSP responder for certbound's tests (RFC 6960 over HTTP POST).

Binds 127.0.0.1 on a port the OS chooses and prints that port on the first
line of stdout, then serves until killed. It answers for one CA: a request
about another issuer gets `unauthorized`. The index of revoked serials is
read again on every request, so a test can revoke while it runs. Each line:

    SERIAL_HEX  REVOKED_AT(ISO 8601, UTC)  REASON (cryptography's ReasonFlags name)

for instance `3F:A2:01  2026-05-20T08:00:00  key_compromise`; `#` starts a
comment. Serials listed in --unknown are answered `unknown`.

    ocsp_responder.py --ca ca.crt --signer-cert S.crt --signer-key S.key \
        --index revoked.txt [--unknown unknown.txt] [--include-signer] \
        [--next-update-secs N] [--files DIR]

The signer is the CA itself (pass its certificate and key), a delegated
responder (a certificate with id-kp-OCSPSigning issued by the CA; pass
--include-signer so the response carries it), or, for the refusal tests,
any other key. With --files DIR, GET /NAME serves DIR/NAME (a CRL for a
CRL Distribution Point).

Works with Debian 12's python3-cryptography (38) and newer releases.
"""

import argparse
import datetime
import http.server
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def serial_of(text):
    return int(text.replace(":", ""), 16)


def read_index(path):
    """serial -> (revoked_at, reason)"""
    revoked = {}
    if not path:
        return revoked
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            at = datetime.datetime.fromisoformat(parts[1]).replace(tzinfo=None)
            reason = getattr(x509.ReasonFlags, parts[2]) if len(parts) > 2 else None
            revoked[serial_of(parts[0])] = (at, reason)
    return revoked


def read_serials(path):
    if not path:
        return set()
    with open(path) as f:
        return {serial_of(l.split("#", 1)[0].strip()) for l in f if l.split("#", 1)[0].strip()}


def hash_of(algorithm, data):
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


class Responder(http.server.BaseHTTPRequestHandler):
    args = None

    def log_message(self, fmt, *values):
        sys.stderr.write("ocsp_responder: " + (fmt % values) + "\n")

    def reply(self, der):
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(der)))
        self.end_headers()
        self.wfile.write(der)

    def do_GET(self):
        """Serve a file of the --files directory (a CRL for a CRL DP)."""
        import os
        name = os.path.basename(self.path.split("?", 1)[0])
        path = os.path.join(self.args.files or ".", name)
        if not self.args.files or not name or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            req = ocsp.load_der_ocsp_request(body)
        except ValueError:
            self.reply(ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER))
            return
        self.reply(self.answer(req).public_bytes(serialization.Encoding.DER))

    def answer(self, req):
        a = self.args
        ca, signer, key = a.ca_cert, a.signer, a.key
        alg = req.hash_algorithm
        name_hash = hash_of(alg, ca.subject.public_bytes())
        if req.issuer_name_hash != name_hash or req.issuer_key_hash != a.key_hash(alg):
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        serial = req.serial_number
        revoked = read_index(a.index)
        now = datetime.datetime.utcnow().replace(microsecond=0)
        this_update = now - datetime.timedelta(seconds=5)
        next_update = now + datetime.timedelta(seconds=a.next_update_secs) if a.next_update_secs > 0 else None
        if serial in revoked:
            status, (rev_at, reason) = ocsp.OCSPCertStatus.REVOKED, revoked[serial]
        elif serial in read_serials(a.unknown):
            status, rev_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        else:
            status, rev_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
        builder = ocsp.OCSPResponseBuilder()
        common = dict(cert_status=status, this_update=this_update, next_update=next_update,
                      revocation_time=rev_at, revocation_reason=reason)
        if hasattr(builder, "add_response_by_hash"):
            builder = builder.add_response_by_hash(
                issuer_name_hash=req.issuer_name_hash, issuer_key_hash=req.issuer_key_hash,
                serial_number=serial, algorithm=alg, **common)
        else:
            # cryptography < 43: a stand-in certificate with the asked serial
            # and the CA as issuer yields the same CertID.
            builder = builder.add_response(cert=a.stand_in(serial), issuer=ca, algorithm=alg, **common)
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.NAME, signer)
        if a.include_signer:
            builder = builder.certificates([signer])
        try:
            nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value
            builder = builder.add_extension(nonce, critical=False)
        except x509.ExtensionNotFound:
            pass
        return builder.sign(key, hashes.SHA256())


class Args:
    def __init__(self, ns):
        self.ca_cert = load_cert(ns.ca)
        self.signer = load_cert(ns.signer_cert)
        self.key = load_key(ns.signer_key)
        self.index = ns.index
        self.unknown = ns.unknown
        self.include_signer = ns.include_signer
        self.next_update_secs = ns.next_update_secs
        self.files = ns.files
        self._stand_in_key = ec.generate_private_key(ec.SECP256R1())

    def key_hash(self, alg):
        # cryptography computes issuerKeyHash itself; ask it with a stand-in.
        b = ocsp.OCSPRequestBuilder().add_certificate(self.stand_in(1), self.ca_cert, alg).build()
        return b.issuer_key_hash

    def stand_in(self, serial):
        now = datetime.datetime.utcnow()
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in")]))
                .issuer_name(self.ca_cert.subject)
                .public_key(self._stand_in_key.public_key())
                .serial_number(serial)
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .sign(self._stand_in_key, hashes.SHA256()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ca", required=True)
    p.add_argument("--signer-cert", required=True)
    p.add_argument("--signer-key", required=True)
    p.add_argument("--index")
    p.add_argument("--unknown")
    p.add_argument("--include-signer", action="store_true")
    p.add_argument("--next-update-secs", type=int, default=3600)
    p.add_argument("--files", help="serve GET /NAME from this directory (CRLs)")
    Responder.args = Args(p.parse_args())
    server = http.server.HTTPServer(("127.0.0.1", 0), Responder)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
