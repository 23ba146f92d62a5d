"""TLS for the simulator (msal only talks to ``https://`` authorities), certificates by trustme.

A private CA signs the server certificate; ``ca.pem`` in the certificate directory is the file
clients trust. The CA (``ca.pem``, ``ca-key.pem``) is kept there and reused while valid, so a
process that trusts ``ca.pem`` (Odoo keeps its path) trusts every later start too, and
simulators sharing a directory share a CA. The server certificate is cheap to make: each start
issues one for its own hosts, kept in memory only, so a changed host list needs no check.
"""

import os
import ssl
import time

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
ORGANIZATION = "Partner Center Simulator"
# trustme's CAs last until the year 3000; CAs made by earlier simulators expire sooner.
RENEW_BEFORE = 2 * 24 * 3600


def server_context(cert_dir, hosts):
    """A server SSL context with a certificate for ``hosts``, signed by the directory's CA.

    :return: (path of ``ca.pem``, the ``ssl.SSLContext``)
    """
    os.makedirs(cert_dir, exist_ok=True)
    ca_file = os.path.join(cert_dir, CA_FILE)
    key_file = os.path.join(cert_dir, CA_KEY_FILE)
    ca = _kept_ca(ca_file, key_file)
    if ca is None:
        ca = trustme.CA(organization_name=ORGANIZATION, organization_unit_name="Local CA")
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(ca.private_key_pem.bytes())
        ca.cert_pem.write_to_path(ca_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    server_cert = ca.issue_cert(
        *hosts, organization_name=ORGANIZATION, organization_unit_name="Server"
    )
    server_cert.configure_cert(context)
    return ca_file, context


def _kept_ca(ca_file, key_file):
    """The directory's CA, or None when it is missing, unreadable or about to expire."""
    try:
        trusted = ssl.create_default_context(cafile=ca_file).get_ca_certs()
        if ssl.cert_time_to_seconds(trusted[0]["notAfter"]) < time.time() + RENEW_BEFORE:
            return None
        with open(ca_file, "rb") as cert, open(key_file, "rb") as key:
            return trustme.CA.from_pem(cert.read(), key.read())
    except (OSError, ValueError, TypeError, IndexError):  # ssl.SSLError is an OSError
        return None
