from mtlslib import handshake


def test_mutual_handshake_through_an_intermediate(ca, server_cert, client_cert):
    result = handshake(server_cert, client_cert, trust=ca)
    assert result.ok, str(result)
    assert result.server_saw.peer_identity == "alice@example.test"
