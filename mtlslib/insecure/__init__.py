"""INSECURE, FOR TEACHING: deliberately broken certificates, verifiers, a MITM relay, a credential-stuffing
bot and toy Diffie-Hellman. Only ``mtlslib.insecure``, ``mtlslib.lessons`` and ``mtlslib.exercises`` import
this package; nothing safe does."""

