"""The cipher offered first is the one this machine runs fastest."""

from __future__ import annotations

from console.transport.ssh import cipher_order


def test_aes_gcm_is_offered_first_only_where_the_processor_has_aes() -> None:
    with_aes = cipher_order("flags\t\t: fpu sse2 aes avx2 sha_ni\n")
    without = cipher_order("flags\t\t: fpu sse2 avx2\n")
    arm = cipher_order("Features\t: fp asimd aes pmull sha1 sha2\n")
    assert with_aes[:2] == arm[:2] == ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
    assert without[0] == "chacha20-poly1305@openssh.com"
    assert sorted(with_aes) == sorted(without)  # the same ciphers, only their order differs
