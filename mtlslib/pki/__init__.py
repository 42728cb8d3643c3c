"""Real X.509 certificates for the course: the authority and what it issues, keys, names, files.

- :mod:`.authority`: :class:`CertificateAuthority` and :class:`IssuedCertificate` (trustme's nouns, with
  profiles that are right by default, CRLs, PKCS#12 and seeded determinism);
- :mod:`.keys`: the key types, seeded key derivation, signing;
- :mod:`.names`: subjectAltName entries and subjects;
- :mod:`.files`: PEM in and out, private files written safely;
- :mod:`.trust`: what a ``trust`` argument means, once for the whole package;
- :mod:`.describe`, :mod:`.oids`, :mod:`.der`: reading certificates back.
"""

from .authority import (
    VALIDITY_PRESETS,
    CertificateAuthority,
    Validity,
    check_path_length,
    leaf_key_usage,
    validity_window,
)
from .der import Tlv, decode_oid, encode, encode_length, read_tlvs
from .describe import CertificateLike, as_certificate, describe
from .files import (
    MAX_INPUT_BYTES,
    PARSE_ERRORS,
    Password,
    SslFiles,
    certificate_pem,
    check_key_matches,
    extensions_one_by_one,
    load_pem_certificates,
    load_pem_private_key,
    password_bytes,
    private_key_pem,
    read_file,
    readable_certificate,
    readable_certificates,
    readable_crl,
    slug,
    staged_directory,
    write_file,
    write_private_file,
)
from .issued import CertificateAndKey, IssuedCertificate, load_pkcs12
from .keys import (
    KEY_TYPES,
    Seed,
    SeedStream,
    check_key_type,
    is_probable_prime,
    key_type_of,
    new_private_key,
    serial_number,
    sign,
)
from .names import (
    KEY_USAGE_NAMES,
    LOOPBACK_NETWORKS,
    RESERVED_DOMAINS,
    authority_key_identifier_for,
    ca_subject,
    extension,
    fingerprint,
    format_general_name,
    general_name,
    is_ip_address,
    is_reserved,
    leaf_subject,
    reserved_names_constraints,
    san_entries,
)
from .oids import OID_NAMES, oid_name
from .trust import Trust, trust_anchors, trust_pem

__all__ = [
    "KEY_TYPES", "KEY_USAGE_NAMES", "LOOPBACK_NETWORKS", "MAX_INPUT_BYTES", "RESERVED_DOMAINS", "OID_NAMES",
    "PARSE_ERRORS", "VALIDITY_PRESETS", "CertificateAndKey", "CertificateAuthority", "CertificateLike",
    "IssuedCertificate", "Password", "Seed", "SeedStream", "SslFiles", "Tlv", "Trust", "Validity",
    "as_certificate", "authority_key_identifier_for", "ca_subject", "certificate_pem", "check_key_matches",
    "check_key_type", "check_path_length", "decode_oid", "describe", "encode", "encode_length", "extension",
    "extensions_one_by_one",
    "fingerprint", "format_general_name", "general_name", "is_ip_address", "is_probable_prime", "is_reserved",
    "key_type_of", "leaf_key_usage", "leaf_subject", "load_pem_certificates", "load_pem_private_key", "load_pkcs12",
    "new_private_key", "oid_name", "password_bytes", "private_key_pem", "read_file", "read_tlvs",
    "readable_certificate", "readable_certificates", "readable_crl",
    "reserved_names_constraints", "san_entries", "serial_number", "sign", "slug", "staged_directory", "trust_anchors",
    "trust_pem", "validity_window", "write_file", "write_private_file",
]
