#!/usr/bin/env python3
"""Writes the 10,000 test keys, one per line, to standard output.

Deterministic (fixed seed). Keys have no newline, comma or double quote so they can be used
as CSV fields unquoted; they include the empty key, spaces and multi-byte UTF-8.
"""
import random

rng = random.Random(20261128)
printable = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in ',"']
words = ["ключ", "キー", "café", "naïve", "用户", "🙂", "Straße", "κλειδί", "مفتاح", "x"]

keys = [""]
keys += [f"key:{i}" for i in range(1, 3000)]
keys += ["".join(rng.choice(printable) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
keys += [f"{rng.choice(words)}-{rng.choice(words)}:{rng.randint(0, 10**6)}" for _ in range(2000)]
keys += [f"user:{i}:session:{rng.getrandbits(64):016x}" for i in range(2000)]
assert len(keys) == 10000
print("\n".join(keys))
