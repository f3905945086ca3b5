"""X.509 certificates the service is handed (a custom key store's trust anchor)."""

from __future__ import annotations

from cryptography import x509


def is_pem_certificate(text: str) -> bool:
    """Whether ``text`` is one PEM-encoded X.509 certificate."""
    try:
        x509.load_pem_x509_certificate(text.encode("utf-8"))
    except ValueError:
        return False
    return True
