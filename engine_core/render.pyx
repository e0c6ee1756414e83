"""Integer amounts as the contract's decimal strings, exactly, with no float or Decimal: the
hot part of rendering an event payload or a routing decision (a worker renders a dozen per
order). service/domain/units.py re-exports these; its docstrings describe the format.

from_base_units: 1500000000 with 9 decimals -> "1.5" (no exponent, no trailing zeros).
price_string: quote units per whole base token, to quote decimals + extra digits, rounded
half to even.
"""

from cpython.unicode cimport PyUnicode_DecodeASCII

# (10 ** <object>n: a C int power would be a double)

cdef long long _MAX = 9223372036854775807
cdef long long[19] _POW10
cdef int _i
_POW10[0] = 1
for _i in range(1, 19):
    _POW10[_i] = _POW10[_i - 1] * 10


cdef str _py_from_base_units(object units, int decimals):
    """The same for values past 64 bits or past 18 decimals (Python integers)."""
    if decimals <= 0:
        return str(units * 10 ** <object>(-decimals))
    whole, frac = divmod(abs(units), 10 ** <object>decimals)
    sign = "-" if units < 0 else ""
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


cdef str _c_from_base_units(long long units, int decimals):
    """0 < decimals <= 18, |units| <= 2**63 - 1."""
    cdef char[48] buf
    cdef int n = 0, end, k, lo, hi
    cdef bint neg = units < 0
    cdef unsigned long long u = -units if neg else units
    cdef unsigned long long p = _POW10[decimals]
    cdef unsigned long long whole = u // p
    cdef unsigned long long frac = u % p
    cdef char c
    if neg:
        buf[n] = 45  # '-'
        n += 1
    lo = n
    while True:
        buf[n] = 48 + <char>(whole % 10)
        n += 1
        whole //= 10
        if whole == 0:
            break
    hi = n - 1
    while lo < hi:
        c = buf[lo]
        buf[lo] = buf[hi]
        buf[hi] = c
        lo += 1
        hi -= 1
    if frac:
        buf[n] = 46  # '.'
        n += 1
        end = n + decimals  # the fraction's digits, leading zeros kept
        for k in range(end - 1, n - 1, -1):
            buf[k] = 48 + <char>(frac % 10)
            frac //= 10
        n = end
        while buf[n - 1] == 48:  # no trailing zeros (there is a nonzero digit)
            n -= 1
    return PyUnicode_DecodeASCII(buf, n, NULL)


def from_base_units(units, int decimals):
    """1500000000 with 9 decimals -> '1.5' (no exponent, no trailing zeros); None -> None."""
    if units is None:
        return None
    if 0 < decimals <= 18 and -_MAX <= units <= _MAX:
        return _c_from_base_units(units, decimals)
    return _py_from_base_units(units, decimals)


def price_string(quote_units, base_units, int base_decimals, int quote_decimals,
                 int extra_digits=4):
    """Average price in quote tokens per whole base token, to quote decimals + a few digits
    (half to even), exactly: integer division. None when base_units <= 0."""
    if base_units <= 0:
        return None
    cdef int digits = quote_decimals + extra_digits
    # price * 10**digits = quote_units * 10**(base_decimals - quote_decimals + digits) / base
    cdef int scale = base_decimals - quote_decimals + digits
    num = quote_units * 10 ** <object>scale if scale >= 0 else quote_units
    den = base_units if scale >= 0 else base_units * 10 ** <object>(-scale)
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return from_base_units(q, digits)
