#!/usr/bin/env python3
"""A UDAP client for certbound's tests, written from the HL7 FAST Security IG
STU2 and the udap.org base profiles, not from certbound's code. Every
subcommand takes BASE --ca CA.pem [--tls-cert CERT.pem --tls-key KEY.pem].

    udap_client.py discover BASE --anchor ANCHOR.pem [--community URI]
        GET BASE/.well-known/udap[?community=URI]. Not 200: print `status N`,
        exit 2. Else validate signed_metadata (signature by the x5c leaf,
        chain to ANCHOR.pem, validity dates, iss == sub == BASE == a leaf URI
        SAN, exp - iat <= 1 year, jti, endpoints as unsigned) and print the
        metadata on one line, or `invalid signed_metadata: REASON` to stderr
        and exit 1.

    udap_client.py register BASE --cert CERT.pem --key KEY.pem [--iss URI]
        [--name NAME] [--scope SCOPE] [--contact [URI ...]] [--cancel]
        [--grant-types JSON] [--exp-in SECS] [--jti JTI] [--aud URL]
        [--omit CLAIM ...] [--set CLAIM=JSON ...] [--alg ALG]
        POST a software statement (x5c = the certs of CERT.pem; iss = sub =
        --iss or the leaf's first URI SAN; aud = registration_endpoint) to the
        registration_endpoint. A bare --contact sends contacts []. --omit
        drops claims, then --set sets them.

    udap_client.py token BASE --cert CERT.pem --key KEY.pem --client-id ID
        [--scope SCOPE] [--org-id URI] [--org-name NAME] [--purpose [CODE ...]]
        [--no-b2b] [--jti JTI] [--exp-in SECS] [--aud URL] [--alg ALG]
        POST client_credentials with an authentication token (iss = sub = ID,
        aud = token_endpoint, extensions.hl7-b2b unless --no-b2b; a bare
        --purpose sends purpose_of_use []) to the token_endpoint.

register and token print `status N`, then the response body on one line, and
exit 0 whatever the status. JWTs live 240 s (--exp-in). ALG defaults to RS256
(RSA), ES256 (P-256) or ES384 (P-384); `none` sends an unsigned JWT.

Works with Debian 12's python3-cryptography (38) and python3-jwt (2.6) and
newer releases.
"""

import argparse
import base64
import binascii
import datetime
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

METADATA_ALGS = ["RS256", "RS384", "ES256", "ES384"]
ONE_YEAR = 365 * 24 * 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class Invalid(Exception):
    pass


def die(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def ssl_context(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = True
    context.load_verify_locations(cafile=args.ca)
    if bool(args.tls_cert) != bool(args.tls_key):
        die("--tls-cert and --tls-key go together")
    if args.tls_cert:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def http(args, url, data=None, content_type=None):
    """Return (status, body bytes); HTTP error statuses are not exceptions."""
    request = urllib.request.Request(url, data=data)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, context=ssl_context(args)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        die(f"request to {url} failed: {e}")


def print_response(status, body):
    print(f"status {status}")
    print(body.decode("utf-8", "replace").replace("\r", " ").replace("\n", " "))


def fetch_metadata(args, community=None):
    url = args.base + "/.well-known/udap"
    if community is not None:
        url += "?" + urllib.parse.urlencode({"community": community})
    status, body = http(args, url)
    if status != 200:
        return status, None
    try:
        metadata = json.loads(body)
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        die(f"metadata from {url} is not a JSON object")
    return status, metadata


def endpoint(args, name):
    """An endpoint from the unsigned metadata (no validation)."""
    status, metadata = fetch_metadata(args)
    if metadata is None:
        die(f"discovery failed: status {status}")
    value = metadata.get(name)
    if not isinstance(value, str) or not value:
        die(f"metadata has no {name}")
    return value


def load_certs(path):
    """All certificates of a PEM file, in order (cryptography 38 has no
    load_pem_x509_certificates)."""
    with open(path, "rb") as f:
        certs = [x509.load_pem_x509_certificate(pem) for pem in PEM_CERT.findall(f.read())]
    if not certs:
        die(f"no certificate in {path}")
    return certs


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def uri_sans(cert):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return san.value.get_values_for_type(x509.UniformResourceIdentifier)


def der_b64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def validity(cert):
    """(not_before, not_after) as aware UTC datetimes on old and new cryptography."""
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = datetime.timezone.utc
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


def signed_by(cert, issuer):
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def check_chain(chain, anchors):
    now = datetime.datetime.now(datetime.timezone.utc)
    for i, cert in enumerate(chain):
        not_before, not_after = validity(cert)
        if now < not_before or now > not_after:
            raise Invalid(f"x5c[{i}] ({cert.subject.rfc4514_string()}) is outside its validity period")
        if i + 1 < len(chain) and not signed_by(cert, chain[i + 1]):
            raise Invalid(f"x5c[{i}] is not signed by x5c[{i + 1}]")
    last = chain[-1]
    der = last.public_bytes(serialization.Encoding.DER)
    for anchor in anchors:
        if anchor.public_bytes(serialization.Encoding.DER) == der or signed_by(last, anchor):
            return
    raise Invalid("x5c does not chain to a trust anchor")


def validate_signed_metadata(metadata, base, anchors):
    token = metadata.get("signed_metadata")
    if not isinstance(token, str):
        raise Invalid("missing or not a string")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Invalid(f"malformed JWT: {e}")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise Invalid("header x5c is not a non-empty array of strings")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (binascii.Error, ValueError) as e:
        raise Invalid(f"x5c is not standard base64 DER certificates: {e}")
    try:
        claims = jwt.decode(token, chain[0].public_key(), algorithms=METADATA_ALGS,
                            options={"verify_aud": False, "require": ["exp", "iat"]})
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise Invalid(f"JWT rejected: {type(e).__name__}: {e}")
    check_chain(chain, anchors)
    if claims.get("iss") != base:
        raise Invalid(f"iss {claims.get('iss')!r} is not {base!r}")
    if claims.get("sub") != claims["iss"]:
        raise Invalid(f"sub {claims.get('sub')!r} is not iss")
    if claims["iss"] not in uri_sans(chain[0]):
        raise Invalid(f"iss is not a URI SAN of the leaf (SANs: {uri_sans(chain[0])})")
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > ONE_YEAR:
        raise Invalid(f"exp - iat is more than one year or not integers ({exp!r} - {iat!r})")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise Invalid("no jti")
    names = ["token_endpoint", "registration_endpoint"]
    if "authorization_endpoint" in metadata:
        names.append("authorization_endpoint")
    for name in names:
        if name not in claims or claims[name] != metadata.get(name):
            raise Invalid(f"{name} {claims.get(name)!r} differs from the unsigned {metadata.get(name)!r}")


def discover(args):
    status, metadata = fetch_metadata(args, args.community)
    if metadata is None:
        print(f"status {status}")
        return 2
    try:
        validate_signed_metadata(metadata, args.base, load_certs(args.anchor))
    except Invalid as e:
        die(f"invalid signed_metadata: {e}")
    print(json.dumps(metadata))
    return 0


def default_alg(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "ES256", "secp384r1": "ES384"}
        if key.curve.name in algs:
            return algs[key.curve.name]
    die("the key is neither RSA nor EC P-256/P-384; pass --alg")


def sign_jwt(args, claims, certs):
    """Compact JWS with header {alg, x5c} (PyJWS, so no claim checks get in the way)."""
    key = load_key(args.key)
    alg = args.alg or default_alg(key)
    headers = {"x5c": [der_b64(c) for c in certs]}
    payload = json.dumps(claims, separators=(",", ":")).encode()
    try:
        token = jwt.PyJWS().encode(payload, None if alg == "none" else key, algorithm=alg,
                                   headers=headers)
    except (jwt.PyJWTError, NotImplementedError, ValueError, TypeError) as e:
        die(f"cannot sign with {alg}: {e}")
    return token.decode("ascii") if isinstance(token, bytes) else token


def parse_set(values):
    result = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            die(f"--set wants CLAIM=JSON, not {item!r}")
        try:
            result[name] = json.loads(value)
        except ValueError:
            die(f"--set {name}: {value!r} is not JSON")
    return result


def register(args):
    registration_endpoint = endpoint(args, "registration_endpoint")
    certs = load_certs(args.cert)
    iss = args.iss
    if iss is None:
        sans = uri_sans(certs[0])
        if not sans:
            die(f"{args.cert} has no URI SAN; pass --iss")
        iss = sans[0]
    if args.grant_types is not None:
        try:
            grant_types = json.loads(args.grant_types)
        except ValueError:
            die("--grant-types is not JSON")
    else:
        grant_types = [] if args.cancel else ["client_credentials"]
    now = int(time.time())
    claims = {
        "iss": iss,
        "sub": iss,
        "aud": args.aud or registration_endpoint,
        "iat": now,
        "exp": now + args.exp_in,
        "jti": args.jti or str(uuid.uuid4()),
        "client_name": args.name,
        "grant_types": grant_types,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": args.scope,
        "contacts": args.contact if args.contact is not None else ["mailto:ops@partner.example.org"],
    }
    for name in args.omit or []:
        claims.pop(name, None)
    claims.update(parse_set(args.set))
    body = json.dumps({"software_statement": sign_jwt(args, claims, certs), "udap": "1"})
    print_response(*http(args, registration_endpoint, body.encode(), "application/json"))
    return 0


def token(args):
    token_endpoint = endpoint(args, "token_endpoint")
    now = int(time.time())
    claims = {
        "iss": args.client_id,
        "sub": args.client_id,
        "aud": args.aud or token_endpoint,
        "iat": now,
        "exp": now + args.exp_in,
        "jti": args.jti or str(uuid.uuid4()),
    }
    if not args.no_b2b:
        b2b = {"version": "1", "organization_id": args.org_id}
        if args.org_name is not None:
            b2b["organization_name"] = args.org_name
        b2b["purpose_of_use"] = (
            args.purpose if args.purpose is not None else ["urn:oid:2.16.840.1.113883.5.8#TREAT"]
        )
        claims["extensions"] = {"hl7-b2b": b2b}
    form = [("grant_type", "client_credentials")]
    if args.scope is not None:
        form.append(("scope", args.scope))
    form += [
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", sign_jwt(args, claims, load_certs(args.cert))),
        ("udap", "1"),
    ]
    body = urllib.parse.urlencode(form).encode()
    print_response(*http(args, token_endpoint, body, "application/x-www-form-urlencoded"))
    return 0


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("base", metavar="BASE")
    common.add_argument("--ca", required=True)
    common.add_argument("--tls-cert")
    common.add_argument("--tls-key")
    signer = argparse.ArgumentParser(add_help=False)
    signer.add_argument("--cert", required=True)
    signer.add_argument("--key", required=True)
    signer.add_argument("--alg")
    signer.add_argument("--exp-in", type=int, default=240)
    signer.add_argument("--jti")
    signer.add_argument("--aud")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("discover", parents=[common])
    p.add_argument("--anchor", required=True)
    p.add_argument("--community")
    p = sub.add_parser("register", parents=[common, signer])
    p.add_argument("--iss")
    p.add_argument("--name", default="Python UDAP client")
    p.add_argument("--scope", default="system/*.rs")
    p.add_argument("--contact", action="extend", nargs="*")
    p.add_argument("--cancel", action="store_true")
    p.add_argument("--grant-types")
    p.add_argument("--omit", action="extend", nargs="+")
    p.add_argument("--set", action="extend", nargs="+")
    p = sub.add_parser("token", parents=[common, signer])
    p.add_argument("--client-id", required=True)
    p.add_argument("--scope")
    p.add_argument("--org-id", default="https://partner.example.org")
    p.add_argument("--org-name")
    p.add_argument("--purpose", action="extend", nargs="*")
    p.add_argument("--no-b2b", action="store_true")
    args = parser.parse_args()
    return {"discover": discover, "register": register, "token": token}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
