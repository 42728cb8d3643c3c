"""One table of object-identifier names for the whole package.

Certificates name their algorithms, extensions and purposes by OID. These are the names RFC 5280
and friends give them (the ones OpenSSL prints), for every OID that cryptography's public ``oid``
classes define. Everything in mtlslib that shows an OID to a reader goes through :func:`oid_name`.
"""

from __future__ import annotations

from cryptography import x509

__all__ = ["OID_NAMES", "oid_name"]

OID_NAMES: dict[str, str] = {
    # signature algorithms
    "1.2.840.10040.4.3": "dsa-with-sha1",
    "2.16.840.1.101.3.4.3.1": "dsa-with-sha224",
    "2.16.840.1.101.3.4.3.2": "dsa-with-sha256",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "ed25519",
    "1.3.101.113": "ed448",
    "1.2.643.7.1.1.3.2": "GOST R 34.10-2012 with GOST R 34.11-2012 (256 bit)",
    "1.2.643.7.1.1.3.3": "GOST R 34.10-2012 with GOST R 34.11-2012 (512 bit)",
    "1.2.643.2.2.3": "GOST R 34.11-94 with GOST R 34.10-2001",
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    # public-key algorithms
    "1.2.840.10040.4.1": "dsaEncryption",
    "1.2.840.10045.2.1": "id-ecPublicKey",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
    # extended key usages
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.2.3.5": "pkInitKDC",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.4.1.311.20.2.2": "msSmartcardLogin",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    # extensions
    "1.3.36.8.3.3": "Admissions",
    "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
    "2.5.29.35": "authorityKeyIdentifier",
    "2.5.29.19": "basicConstraints",
    "2.5.29.32": "certificatePolicies",
    "2.5.29.31": "cRLDistributionPoints",
    "2.5.29.20": "cRLNumber",
    "2.5.29.27": "deltaCRLIndicator",
    "2.5.29.37": "extendedKeyUsage",
    "2.5.29.46": "freshestCRL",
    "2.5.29.54": "inhibitAnyPolicy",
    "2.5.29.18": "issuerAltName",
    "2.5.29.28": "issuingDistributionPoint",
    "2.5.29.15": "keyUsage",
    "1.3.6.1.4.1.311.21.7": "msCertificateTemplate",
    "2.5.29.30": "nameConstraints",
    "1.3.6.1.5.5.7.48.1.5": "OCSPNoCheck",
    "2.5.29.36": "policyConstraints",
    "2.5.29.33": "policyMappings",
    "1.3.6.1.4.1.11129.2.4.3": "ctPoison",
    "1.3.6.1.4.1.11129.2.4.2": "signedCertificateTimestampList",
    "2.5.29.16": "privateKeyUsagePeriod",
    "1.3.6.1.4.1.11129.2.4.5": "signedCertificateTimestampList",
    "2.5.29.17": "subjectAltName",
    "2.5.29.9": "subjectDirectoryAttributes",
    "1.3.6.1.5.5.7.1.11": "subjectInfoAccess",
    "2.5.29.14": "subjectKeyIdentifier",
    "1.3.6.1.5.5.7.1.24": "TLSFeature",
    # CRL entry extensions
    "2.5.29.29": "certificateIssuer",
    "2.5.29.21": "cRLReason",
    "2.5.29.24": "invalidityDate",
    # name attributes
    "2.5.4.15": "businessCategory",
    "2.5.4.3": "commonName",
    "2.5.4.6": "countryName",
    "2.5.4.46": "dnQualifier",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "1.2.840.113549.1.9.1": "emailAddress",
    "2.5.4.44": "generationQualifier",
    "2.5.4.42": "givenName",
    "1.2.643.3.131.1.1": "INN",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionLocalityName",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionStateOrProvinceName",
    "2.5.4.7": "localityName",
    "1.2.643.100.1": "OGRN",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.10": "organizationName",
    "2.5.4.16": "postalAddress",
    "2.5.4.17": "postalCode",
    "2.5.4.65": "pseudonym",
    "2.5.4.5": "serialNumber",
    "1.2.643.100.3": "SNILS",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.4": "surname",
    "2.5.4.12": "title",
    "1.2.840.113549.1.9.2": "unstructuredName",
    "0.9.2342.19200300.100.1.1": "userID",
    "2.5.4.45": "x500UniqueIdentifier",
}


def oid_name(oid: x509.ObjectIdentifier | str) -> str:
    """The usual name of ``oid`` (``"serverAuth"``, ``"ecdsa-with-SHA256"``), or its dotted form if unnamed."""
    dotted = oid if isinstance(oid, str) else oid.dotted_string
    return OID_NAMES.get(dotted, dotted)
