/*
 * Prints where libmemcached (weighted ketama) places each key, as CSV: key,node.
 *
 *   cc -O2 -o ketama_libmemcached ketama_libmemcached.c -lmemcached
 *   ./ketama_libmemcached HOST:PORT[=WEIGHT]... < keys.txt > out.csv
 *
 * Keys are read one per line from standard input (the newline is not part of the key).
 * Used by scripts/vectors/generate to make Tests/ShoalHashingTests/Vectors and by the
 * libmemcached differential test; see Tests/ShoalHashingTests/Vectors/README.md.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERVERS 100

struct server { char host[256]; unsigned port; unsigned weight; char spec[300]; };

static int parse(const char *arg, struct server *s) {
  snprintf(s->spec, sizeof s->spec, "%s", arg);
  char *eq = strrchr(s->spec, '=');
  s->weight = 1;
  if (eq) { s->weight = (unsigned)strtoul(eq + 1, NULL, 10); *eq = 0; }
  char *colon = strrchr(s->spec, ':');
  if (!colon || s->weight == 0) return -1;
  size_t hostlen = (size_t)(colon - s->spec);
  if (hostlen == 0 || hostlen >= sizeof s->host) return -1;
  memcpy(s->host, s->spec, hostlen);
  s->host[hostlen] = 0;
  s->port = (unsigned)strtoul(colon + 1, NULL, 10);
  return 0;
}

int main(int argc, char **argv) {
  static struct server servers[MAX_SERVERS];
  int n = argc - 1;
  if (n < 1 || n > MAX_SERVERS) {
    fprintf(stderr, "usage: %s HOST:PORT[=WEIGHT]... (1 to %d servers) < keys\n", argv[0], MAX_SERVERS);
    return 2;
  }
  memcached_st *memc = memcached_create(NULL);
  memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
  for (int i = 0; i < n; i++) {
    if (parse(argv[i + 1], &servers[i]) != 0) {
      fprintf(stderr, "bad server '%s'\n", argv[i + 1]);
      return 2;
    }
    if (memcached_server_add_with_weight(memc, servers[i].host, (in_port_t)servers[i].port,
                                         servers[i].weight) != MEMCACHED_SUCCESS) {
      fprintf(stderr, "libmemcached refused server '%s'\n", argv[i + 1]);
      return 2;
    }
  }
  printf("key,node\n");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) >= 0) {
    if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
    uint32_t index = memcached_generate_hash(memc, line, (size_t)len);
    printf("%s,%s:%u\n", line, servers[index].host, servers[index].port);
  }
  free(line);
  memcached_free(memc);
  return 0;
}
