/*
 * A table of the jump reference function's answers (jump_consistent_hash.h): key,buckets,bucket.
 * Keys are the SplitMix64 sequence from 0 plus a few edge values.
 */
#include <inttypes.h>
#include <stdio.h>

#include "jump_consistent_hash.h"

static uint64_t splitmix(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int main(void) {
  const int32_t buckets[] = {1, 2, 3, 7, 10, 100, 1000, 65536, 1000003, 2147483647};
  const uint64_t edges[] = {0, 1, 2, 0xFFFFFFFFFFFFFFFFULL, 0x8000000000000000ULL, 12345678901234567ULL};
  uint64_t state = 0;
  printf("key,buckets,bucket\n");
  for (unsigned e = 0; e < sizeof edges / sizeof *edges; e++)
    for (unsigned b = 0; b < sizeof buckets / sizeof *buckets; b++)
      printf("%" PRIu64 ",%d,%d\n", edges[e], buckets[b], JumpConsistentHash(edges[e], buckets[b]));
  for (int i = 0; i < 2000; i++) {
    uint64_t key = splitmix(&state);
    int32_t n = buckets[i % 10];
    printf("%" PRIu64 ",%d,%d\n", key, n, JumpConsistentHash(key, n));
  }
  return 0;
}
