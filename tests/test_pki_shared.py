"""The pieces of mtlslib.pki that the rest of the package shares: trust, passwords, DER, OID names, primes."""

from __future__ import annotations

import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from mtlslib.errors import CertificateLoadError, DecodeError, UsageError
from mtlslib.pki import (
    CertificateAuthority,
    IssuedCertificate,
    decode_oid,
    encode,
    is_probable_prime,
    load_pem_private_key,
    oid_name,
    password_bytes,
    read_tlvs,
    trust_anchors,
    trust_pem,
)

# -- trust ------------------------------------------------------------------------------------

def test_a_ca_is_its_own_anchor_root_or_intermediate(ca, issuing_ca):
    assert trust_anchors(ca) == (ca.certificate,)
    assert trust_anchors(issuing_ca) == (issuing_ca.certificate,)  # not its root


def test_every_kind_of_trust_reads_the_same(ca, issuing_ca, server_cert):
    assert trust_anchors(ca.certificate) == (ca.certificate,)
    assert trust_anchors(server_cert) == (server_cert.certificate,)
    assert trust_anchors(ca.cert_pem) == (ca.certificate,)
    assert trust_anchors(ca.cert_pem.decode()) == (ca.certificate,)
    assert trust_anchors([ca, issuing_ca.cert_pem, ca.certificate]) == (ca.certificate, issuing_ca.certificate)


def test_trust_pem_is_the_anchors_as_pem(ca, issuing_ca):
    assert trust_pem([ca, issuing_ca]) == ca.cert_pem + issuing_ca.cert_pem


@pytest.mark.parametrize("bad, message", [
    ([], "trust is empty"),
    (42, "not int"),
    ([[b"x"]], "a list inside a list"),
    (None, "not NoneType"),
])
def test_trust_that_means_nothing_is_refused_clearly(bad, message):
    with pytest.raises(UsageError, match=message):
        trust_anchors(bad)


def test_garbage_pem_as_trust_names_the_argument():
    with pytest.raises(CertificateLoadError, match="trust"):
        trust_anchors(b"not a certificate")


# -- passwords --------------------------------------------------------------------------------

def test_a_password_may_be_str_or_bytes(server_cert):
    encrypted = server_cert.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.BestAvailableEncryption(b"s3cret"))
    for password in ("s3cret", b"s3cret"):
        key = load_pem_private_key(encrypted, "leaf.key", password)
        assert key.public_key() == server_cert.private_key.public_key()
    with pytest.raises(CertificateLoadError, match="wrong password"):
        load_pem_private_key(encrypted, "leaf.key", "wrong")


def test_password_bytes_refuses_other_types():
    assert password_bytes("é") == "é".encode()
    assert password_bytes("") is None
    with pytest.raises(UsageError, match="str or bytes"):
        password_bytes(1234)


def test_pkcs12_round_trip_with_a_str_password(server_cert, tmp_path):
    from mtlslib.pki import load_pkcs12
    path = server_cert.write_pkcs12(tmp_path / "leaf.p12", "pass phrase")
    again = load_pkcs12(path, b"pass phrase")
    assert isinstance(again, IssuedCertificate) and again.certificate == server_cert.certificate
    assert again.chain == server_cert.chain


# -- DER ----------------------------------------------------------------------------------------

def test_der_reader_round_trips_a_certificate(server_cert):
    der = server_cert.certificate.public_bytes(serialization.Encoding.DER)
    (outer,) = read_tlvs(der)
    assert outer.tag == 0x30 and outer.encoding == der
    tbs, algorithm, signature = read_tlvs(outer.content)
    assert tbs.encoding == server_cert.certificate.tbs_certificate_bytes
    assert encode(0x30, outer.content) == der
    oid = decode_oid(read_tlvs(algorithm.content)[0].content)
    assert oid == server_cert.certificate.signature_algorithm_oid


@pytest.mark.parametrize("damaged", [b"\x30", b"\x30\x05\x01", b"\x30\x85\x00\x00\x00\x00\x01", b"\x30\x80"])
def test_der_reader_refuses_damage_instead_of_reading_short(damaged):
    with pytest.raises(DecodeError, match="DER"):
        read_tlvs(damaged)


def test_decode_oid_refuses_a_truncated_oid():
    with pytest.raises(DecodeError):
        decode_oid(b"\x2a\x86")


# -- OID names ----------------------------------------------------------------------------------

def test_oid_names_come_from_one_table():
    assert oid_name(ExtendedKeyUsageOID.SERVER_AUTH) == "serverAuth"
    assert oid_name(SignatureAlgorithmOID.ECDSA_WITH_SHA256) == "ecdsa-with-SHA256"
    assert oid_name(x509.ObjectIdentifier("1.2.3.4.5")) == "1.2.3.4.5"  # unnamed: dotted


# -- primes -------------------------------------------------------------------------------------

def test_the_one_primality_test_agrees_with_trial_division_on_small_numbers():
    def by_division(n):
        return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))
    assert [n for n in range(-3, 3000) if is_probable_prime(n)] == [n for n in range(-3, 3000) if by_division(n)]


def test_the_one_primality_test_catches_carmichael_numbers_and_strong_pseudoprimes():
    assert not is_probable_prime(561)  # Carmichael
    assert not is_probable_prime(3215031751)  # strong pseudoprime to bases 2, 3, 5, 7
    assert is_probable_prime(2 ** 127 - 1)


# -- files: nothing half-written, nothing through a symlink, nothing that hangs ----------------------

def test_private_files_are_0600_and_never_written_through_a_symlink(tmp_path):
    from mtlslib.pki import write_private_file
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    trap = tmp_path / "server.key"
    trap.symlink_to(victim)
    write_private_file(trap, b"secret")
    assert victim.read_text() == "precious"  # the symlink was replaced, not followed
    assert not trap.is_symlink() and trap.read_bytes() == b"secret"
    assert (trap.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.key", "victim.txt"]  # no temporary left


def test_writing_into_an_existing_file_does_not_reuse_its_inode(tmp_path):
    from mtlslib.pki import write_private_file
    target = tmp_path / "a.key"
    target.write_bytes(b"old")
    target.chmod(0o644)
    hard_link = tmp_path / "other-name"
    hard_link.hardlink_to(target)  # someone else's name for the same inode must keep the old bytes
    write_private_file(target, b"new")
    assert hard_link.read_bytes() == b"old" and target.read_bytes() == b"new"
    assert (target.stat().st_mode & 0o777) == 0o600


def test_issued_files_are_written_with_the_key_private(tmp_path, server_cert):
    cert_path, key_path = server_cert.write(tmp_path)
    assert (key_path.stat().st_mode & 0o777) == 0o600
    assert cert_path.read_bytes() == server_cert.chain_pem


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_at_once_instead_of_hanging(tmp_path):
    import os

    from mtlslib.pki import read_file
    fifo = tmp_path / "cert.pem"
    os.mkfifo(fifo)
    with pytest.raises(CertificateLoadError, match="not a regular file"):
        read_file(fifo)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_devices_are_refused(device):
    from mtlslib.pki import read_file
    with pytest.raises(CertificateLoadError, match="not a regular file"):
        read_file(device)


def test_a_huge_file_is_refused_with_the_limit(tmp_path):
    from mtlslib.pki import MAX_INPUT_BYTES, read_file
    big = tmp_path / "big.pem"
    with open(big, "wb") as file:
        file.truncate(50 << 20)  # 50 MB, sparse
    with pytest.raises(CertificateLoadError, match=f"{MAX_INPUT_BYTES:,}"):
        read_file(big)
    with pytest.raises(CertificateLoadError, match="is a directory"):
        read_file(tmp_path)


# -- names: each kind validated, messages short ---------------------------------------------------

@pytest.mark.parametrize("identity, problem", [
    ("a@b@c", "more than one '@'"),
    ("javascript:alert(1)@x", "name before '@'"),
    ("x@-", "not a DNS name"),
    ("spiffe://", "no authority"),
    ("http://[bad", "not a valid URI"),
    ("999.1.1.1", "never all digits"),
    ("*.com", "public suffix 'com'"),
    ("*.co.uk", "public suffix 'co.uk'"),
    ("w*.example.test", "whole leftmost label"),
    ("a.*.example.test", "whole leftmost label"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("xn--zz.example", "not a valid A-label"),
    ("alice@bad_domain.test", "not a DNS name"),
])
def test_each_kind_of_name_is_validated(identity, problem):
    from mtlslib.errors import ProfileError
    from mtlslib.pki import general_name
    with pytest.raises(ProfileError, match=re.escape(problem)):
        general_name(identity)


@pytest.mark.parametrize("identity, kind", [
    ("localhost", x509.DNSName), ("*.example.test", x509.DNSName), ("xn--bcher-kva.example", x509.DNSName),
    ("127.0.0.1", x509.IPAddress), ("::1", x509.IPAddress), ("alice@example.test", x509.RFC822Name),
    ("first.last+tag@example.test", x509.RFC822Name), ("spiffe://example.test/ns/shop/sa/web",
                                                         x509.UniformResourceIdentifier),
])
def test_good_names_of_each_kind_are_accepted(identity, kind):
    from mtlslib.pki import general_name
    assert isinstance(general_name(identity), kind)


@pytest.mark.parametrize("domain", ["test", "example.test", "a.b.example.test", "example", "x.example", "invalid",
                                    "a.invalid", "localhost", "x.localhost", "com", "co.uk", "example.com"])
def test_reserved_domains_are_answered_as_the_public_suffix_list_answers(domain):
    from publicsuffixlist import PublicSuffixList

    from mtlslib.pki.names import _is_public_suffix
    assert _is_public_suffix(domain) == PublicSuffixList().is_public(domain)


def test_a_huge_name_gets_a_short_message():
    from mtlslib.errors import ProfileError
    from mtlslib.pki import general_name
    with pytest.raises(ProfileError) as caught:
        general_name("x" * 100_000)
    assert len(str(caught.value)) < 200 and "100000 characters" in str(caught.value)


# -- seeded keys are public: a seeded CA vouches only for reserved names -----------------------------

def _forged_leaf(ca, name):
    """What anyone who knows the seed can do: sign a certificate for any name with the rebuilt key."""
    import datetime as dt

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(ca.certificate.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
                                  critical=False)
                   .sign(ca.private_key, hashes.SHA256()))
    return IssuedCertificate(certificate, key, chain=ca.chain)


def test_a_seeded_ca_carries_critical_reserved_name_constraints():
    from mtlslib.pki import RESERVED_DOMAINS, extension, reserved_names_constraints
    seeded = CertificateAuthority.create("Seeded Root", seed="public keys")
    constraint = seeded.certificate.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraint.critical and constraint.value == reserved_names_constraints()
    assert {n.value for n in constraint.value.permitted_subtrees if isinstance(n, x509.DNSName)} == \
        set(RESERVED_DOMAINS)
    assert seeded.reserved_names_only and seeded.create_intermediate("Seeded Issuing").reserved_names_only
    fresh = CertificateAuthority.create("Fresh Root")
    assert extension(fresh.certificate, x509.NameConstraints) is None and not fresh.reserved_names_only
    assert not CertificateAuthority.create("Labelled", seed="x", reserved_names_only=False).reserved_names_only


def test_a_seeded_ca_refuses_to_issue_a_real_internet_name():
    from mtlslib.errors import ProfileError
    issuing = CertificateAuthority.create("Seeded Root", seed="public keys").create_intermediate("Issuing")
    for name in ("www.example.org", "alice@example.test", "127.0.0.2", "spiffe://example.test/a", "*.example.test"):
        issuing.issue_client(name) if "@" in name or "://" in name else issuing.issue_server(name)
    for name in ("www.google.com", "alice@gmail.com", "10.0.0.1", "spiffe://bank.com/payments"):
        with pytest.raises(ProfileError, match="reserved names"):
            issuing.issue_client(name)


def test_verifiers_refuse_what_a_leaked_seed_could_sign_for_a_real_name():
    import datetime as dt

    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    from mtlslib.tls import handshake
    root = CertificateAuthority.create("Seeded Root", seed="public keys")
    forged = _forged_leaf(root, "www.bank.com")
    result = handshake(forged, trust=root, server_hostname="www.bank.com", check_purpose=False)
    assert not result.ok and "subtree" in result.client_saw.error  # OpenSSL: permitted subtree violation
    verifier = (PolicyBuilder().store(Store([root.certificate])).time(dt.datetime.now(dt.timezone.utc))
                .build_server_verifier(x509.DNSName("www.bank.com")))
    with pytest.raises(VerificationError):
        verifier.verify(forged.certificate, [])
    honest = _forged_leaf(root, "www.bank.example")  # the same forgery inside the reserved names is accepted
    assert handshake(honest, trust=root, server_hostname="www.bank.example", check_purpose=False).ok


def test_uri_constraints_are_left_out_because_cryptography_refuses_them():
    """If this starts failing, cryptography learned URI name constraints: add URIs to the seeded constraints."""
    import datetime as dt

    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    from mtlslib.pki import reserved_names_constraints
    assert not any(isinstance(n, x509.UniformResourceIdentifier)
                   for n in reserved_names_constraints().permitted_subtrees)
    root = CertificateAuthority.create("URI-constrained Root")
    builder_key = root.private_key
    from cryptography.hazmat.primitives import hashes
    constrained = (x509.CertificateBuilder().subject_name(root.certificate.subject)
                   .issuer_name(root.certificate.subject).public_key(builder_key.public_key())
                   .serial_number(1).not_valid_before(root.certificate.not_valid_before_utc)
                   .not_valid_after(root.certificate.not_valid_after_utc)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                  critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(builder_key.public_key()), critical=False)
                   .add_extension(x509.NameConstraints([x509.UniformResourceIdentifier(".test")], None), critical=True)
                   .sign(builder_key, hashes.SHA256()))
    client = root.issue_client("spiffe://example.test/a")
    verifier = (PolicyBuilder().store(Store([constrained])).time(dt.datetime.now(dt.timezone.utc))
                .build_client_verifier())
    with pytest.raises(VerificationError, match="unsupported name constraint"):
        verifier.verify(client.certificate, [])
