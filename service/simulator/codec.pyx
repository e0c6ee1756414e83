"""Base58 with the Bitcoin/Solana alphabet: how the simulated chain shows its transaction
signatures (64-byte digests), the way Solana explorers and RPCs show theirs.

The big-number conversion in C: the bytes are read 32 bits at a time into limbs of base
58^5, each limb then gives five digits (a 64-byte signature: 16 words times 18 limbs).
"""

from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc

cdef const char* ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
cdef uint64_t LIMB = 656356768  # 58**5 < 2**30, so limb * 2**32 + carry fits 64 bits


def b58encode(const unsigned char[:] data not None) -> str:
    """`data` in base58; each leading zero byte becomes a leading '1'."""
    cdef Py_ssize_t n = data.shape[0]
    cdef Py_ssize_t zeros = 0
    while zeros < n and data[zeros] == 0:
        zeros += 1
    # log(256) / log(58) < 1.38: digits for the bytes after the zeros, five per limb
    cdef Py_ssize_t digits_max = (n - zeros) * 138 // 100 + 1
    cdef Py_ssize_t limbs_max = digits_max // 5 + 2
    cdef uint64_t* limbs = <uint64_t*> malloc(limbs_max * sizeof(uint64_t))
    cdef char* out = <char*> malloc(zeros + limbs_max * 5 + 1)
    if limbs == NULL or out == NULL:
        free(limbs)
        free(out)
        raise MemoryError()
    cdef Py_ssize_t i = zeros, k, _digit, used = 0, pos
    cdef uint64_t carry, word, shift
    try:
        w = (n - zeros) % 4 or 4  # the first word takes the odd bytes
        while i < n:
            word = 0
            for k in range(w):
                word = (word << 8) | data[i + k]
            i += w
            shift = (<uint64_t> 1) << (8 * w)
            carry = word
            for k in range(used):
                carry += limbs[k] * shift
                limbs[k] = carry % LIMB
                carry //= LIMB
            while carry:
                limbs[used] = carry % LIMB
                carry //= LIMB
                used += 1
            w = 4
        # digits, least significant first, written from the end of `out`
        pos = zeros + limbs_max * 5
        for k in range(used):
            word = limbs[k]
            for _digit in range(5):
                if k == used - 1 and word == 0:
                    break  # no leading zeros from the top limb
                pos -= 1
                out[pos] = ALPHABET[word % 58]
                word //= 58
        for _digit in range(zeros):
            pos -= 1
            out[pos] = b"1"
        return out[pos : zeros + limbs_max * 5].decode("ascii")
    finally:
        free(limbs)
        free(out)
