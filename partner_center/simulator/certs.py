"""TLS for the simulator (msal only talks to ``https://`` authorities), certificates by trustme.

A private CA signs the server certificate; ``ca.pem`` in the certificate directory is the file
clients trust. The CA (``ca.pem``, ``ca-key.pem``) is kept there and reused while valid, so a
process that trusts ``ca.pem`` (Odoo keeps its path) trusts every later start too, and
simulators sharing a directory share a CA. The server certificate is cheap to make: each start
issues one for its own hosts, kept in memory only, so a changed host list needs no check.
"""

import contextlib
import fcntl
import os
import ssl
import tempfile
import time

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
LOCK_FILE = "ca.lock"
ORGANIZATION = "Partner Center Simulator"
# trustme's CAs last until the year 3000; CAs made by earlier simulators expire sooner.
RENEW_BEFORE = 2 * 24 * 3600


def server_context(cert_dir, hosts):
    """A server SSL context with a certificate for ``hosts``, signed by the directory's CA.

    :return: (path of ``ca.pem``, the ``ssl.SSLContext``)
    """
    os.makedirs(cert_dir, exist_ok=True)
    ca = _directory_ca(cert_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    server_cert = ca.issue_cert(
        *hosts, organization_name=ORGANIZATION, organization_unit_name="Server"
    )
    server_cert.configure_cert(context)
    return os.path.join(cert_dir, CA_FILE), context


def _directory_ca(cert_dir):
    """The directory's CA, kept, or made and written when missing, expiring or mismatched.

    Simulators starting together on one directory take turns (a lock file), so that they agree
    on one CA. Each file is replaced whole; the key is written first and the certificate last,
    so a start stopped between the two leaves a pair that does not match: the next start
    replaces it.
    """
    ca_file = os.path.join(cert_dir, CA_FILE)
    key_file = os.path.join(cert_dir, CA_KEY_FILE)
    lock = os.open(os.path.join(cert_dir, LOCK_FILE), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ca = _kept_ca(ca_file, key_file)
        if ca is None:
            ca = trustme.CA(organization_name=ORGANIZATION, organization_unit_name="Local CA")
            _replace_file(key_file, ca.private_key_pem.bytes(), 0o600)
            _replace_file(ca_file, ca.cert_pem.bytes(), 0o644)
        else:
            with contextlib.suppress(OSError):  # a key of another user's: theirs to protect
                os.chmod(key_file, 0o600)
        return ca
    finally:
        os.close(lock)  # releases the lock


def _kept_ca(ca_file, key_file):
    """The directory's CA, or None when it is missing, unreadable, about to expire, or when its
    key is not the certificate's."""
    try:
        trusted = ssl.create_default_context(cafile=ca_file).get_ca_certs()
        if ssl.cert_time_to_seconds(trusted[0]["notAfter"]) < time.time() + RENEW_BEFORE:
            return None
        # OpenSSL refuses a certificate with a key that is not its own ("key values mismatch").
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(ca_file, key_file)
        with open(ca_file, "rb") as cert, open(key_file, "rb") as key:
            return trustme.CA.from_pem(cert.read(), key.read())
    except (OSError, ValueError, TypeError, IndexError):  # ssl.SSLError is an OSError
        return None


def _replace_file(path, content, mode):
    """Write ``path`` whole or not at all: a temporary file beside it, renamed over it."""
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
