"""Self-signed TLS material for the simulator (msal only talks to ``https://`` authorities).

A small private CA signs the server certificate; ``ca.pem`` is the file clients trust. Both are
kept in the certificate directory and reused while valid, so a process that trusts ``ca.pem``
(Odoo, say) keeps working across simulator restarts.
Written for cryptography 3.4.8 (Odoo 18's pin) and newer.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"
VALIDITY_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=2)


def ensure_certificates(cert_dir, hosts):
    """Make sure ``cert_dir`` holds a CA and a server certificate valid for ``hosts``.

    :return: (ca_file, server_cert_file, server_key_file)
    """
    os.makedirs(cert_dir, exist_ok=True)
    paths = {
        name: os.path.join(cert_dir, name)
        for name in (CA_FILE, CA_KEY_FILE, SERVER_FILE, SERVER_KEY_FILE)
    }
    ca_cert, ca_key = _load_ca(paths[CA_FILE], paths[CA_KEY_FILE])
    if ca_cert is None:
        ca_cert, ca_key = _make_ca()
        _write_key(paths[CA_KEY_FILE], ca_key)
        _write_cert(paths[CA_FILE], [ca_cert])
    if not _server_cert_usable(paths[SERVER_FILE], paths[SERVER_KEY_FILE], ca_cert, hosts):
        server_cert, server_key = _make_server_cert(ca_cert, ca_key, hosts)
        _write_key(paths[SERVER_KEY_FILE], server_key)
        _write_cert(paths[SERVER_FILE], [server_cert, ca_cert])
    return paths[CA_FILE], paths[SERVER_FILE], paths[SERVER_KEY_FILE]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _still_valid(cert):
    # cryptography >= 42 offers (and prefers) the timezone-aware property; 3.4.8 lacks it.
    aware = getattr(cert, "not_valid_after_utc", None)
    not_after = aware.replace(tzinfo=None) if aware is not None else cert.not_valid_after
    return not_after - RENEW_BEFORE > _now()


def _load_ca(cert_path, key_path):
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        return None, None
    try:
        with open(cert_path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(key_path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (ValueError, OSError):
        return None, None
    return (cert, key) if _still_valid(cert) else (None, None)


def _server_cert_usable(cert_path, key_path, ca_cert, hosts):
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        return False
    try:
        with open(cert_path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
    except (ValueError, OSError):
        return False
    if cert.issuer != ca_cert.subject or not _still_valid(cert):
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    covered = {str(value) for value in names.get_values_for_type(x509.IPAddress)}
    covered |= set(names.get_values_for_type(x509.DNSName))
    return all(host in covered for host in hosts)


def _name(common_name):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partner Center Simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name("Partner Center Simulator local CA")
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(days=1))
        .not_valid_after(_now() + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server_cert(ca_cert, ca_key, hosts):
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(days=1))
        .not_valid_after(_now() + datetime.timedelta(days=VALIDITY_DAYS - 30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _write_key(path, key):
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(path + ".tmp", path)


def _write_cert(path, certs):
    with open(path + ".tmp", "wb") as handle:
        for cert in certs:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(path + ".tmp", path)
