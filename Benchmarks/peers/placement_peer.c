/*
 * Times the peers of Shoal's placement algorithms on the same nodes, keys and method that
 * `shoal ring analyze` uses, and prints one JSON object.
 *
 *   placement_peer ketama N K   libmemcached weighted ketama: memcached_generate_hash()
 *   placement_peer jump N K     XXH64 (libxxhash) of the key, then the paper's jump function
 *
 * Nodes are 10.a.b.c:11211; keys are key:0 … key:(K-1). Time is the total over passes through
 * all keys until at least 0.3 s has been spent, divided by the number of lookups.
 * Built by Benchmarks/peers/ketama-vs-libmemcached with cc -O2.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../../scripts/vectors/jump_consistent_hash.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ketama|jump NODES KEYS\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  int nodes = atoi(argv[2]);
  long keys = atol(argv[3]);
  if (nodes < 1 || keys < 1) return 2;

  char *buffer = malloc((size_t)keys * 24);
  size_t *starts = malloc(sizeof(size_t) * (size_t)(keys + 1));
  size_t used = 0;
  for (long i = 0; i < keys; i++) {
    starts[i] = used;
    used += (size_t)sprintf(buffer + used, "key:%ld", i);
  }
  starts[keys] = used;

  memcached_st *memc = NULL;
  if (strcmp(mode, "ketama") == 0) {
    memc = memcached_create(NULL);
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    for (int i = 0; i < nodes; i++) {
      char host[64];
      snprintf(host, sizeof host, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
      if (memcached_server_add_with_weight(memc, host, 11211, 1) != MEMCACHED_SUCCESS) return 1;
    }
  } else if (strcmp(mode, "jump") != 0) {
    return 2;
  }

  unsigned long checksum = 0;
  long lookups = 0;
  double elapsed = 0;
  do {
    double start = now();
    if (memc) {
      for (long i = 0; i < keys; i++)
        checksum += memcached_generate_hash(memc, buffer + starts[i], starts[i + 1] - starts[i]);
    } else {
      for (long i = 0; i < keys; i++)
        checksum += (unsigned long)JumpConsistentHash(XXH64(buffer + starts[i], starts[i + 1] - starts[i], 0), nodes);
    }
    elapsed += now() - start;
    lookups += keys;
  } while (elapsed < 0.3);
  printf("{\"mode\":\"%s\",\"nodes\":%d,\"keys\":%ld,\"lookup_ns\":%.3f,\"checksum\":%lu}\n", mode, nodes, keys,
         elapsed * 1e9 / (double)lookups, checksum);
  if (memc) memcached_free(memc);
  return 0;
}
