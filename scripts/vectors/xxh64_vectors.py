#!/usr/bin/env python3
"""Prints XXH64 reference values from the xxHash library (Debian's python3-xxhash binds the C
reference) as CSV: length,seed,hash (hash in hex).

The input of length L is the first L bytes of a fixed buffer made like xxHash's own sanity
test: byte i is the top byte of a 64-bit state multiplied by 11400714785074694797 each step.
"""
import xxhash

MASK = (1 << 64) - 1
state = 2654435761
buffer = bytearray()
for _ in range(2048):
    buffer.append(state >> 56)
    state = (state * 11400714785074694797) & MASK

lengths = list(range(0, 260)) + [511, 512, 513, 1000, 1023, 1024, 2047, 2048]
seeds = [0, 2654435761, 0x9E3779B185EBCA87, MASK]
print("length,seed,hash")
for length in lengths:
    for seed in seeds:
        print(f"{length},{seed},{xxhash.xxh64_intdigest(bytes(buffer[:length]), seed=seed):016x}")
