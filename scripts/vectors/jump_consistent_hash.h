/*
 * Jump consistent hash as printed in Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
 * Algorithm" (2014), figure 1. Shared by the vector generator and the peer benchmark.
 */
#ifndef SHOAL_JUMP_CONSISTENT_HASH_H
#define SHOAL_JUMP_CONSISTENT_HASH_H
#include <stdint.h>

static inline int32_t JumpConsistentHash(uint64_t key, int32_t num_buckets) {
  int64_t b = -1, j = 0;
  while (j < num_buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = (b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1));
  }
  return (int32_t)b;
}

#endif
