// Counts the heap blocks a process allocates, for the gateway benchmark's "allocations per
// request". Loaded with LD_PRELOAD; every 20 ms a thread writes the count so far, in
// decimal, to the file named by SHOAL_MALLOC_COUNT_FILE. The benchmark reads it before and
// after a wrk run and divides the difference by the requests wrk made.
//
// Counted: malloc, calloc, realloc of NULL, posix_memalign, aligned_alloc, memalign (every
// way Swift's runtime and NIO get a new block). Not counted: frees, and reallocs of a block.
// The real allocator is glibc's, reached through its __libc_* entry points, so no dlsym
// (which itself allocates) is needed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static atomic_ulong allocations;

static inline void counted(void) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); }

void *malloc(size_t size) {
    counted();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    counted();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    if (pointer == NULL) counted();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    counted();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

static int output = -1;

static void *report(void *unused) {
    (void)unused;
    char text[32];
    const struct timespec pause = {0, 20 * 1000 * 1000};
    for (;;) {
        // Fixed width, so each write replaces the last whole.
        int length = snprintf(text, sizeof text, "%20lu\n", atomic_load(&allocations));
        if (pwrite(output, text, (size_t)length, 0) < 0) return NULL;
        nanosleep(&pause, NULL);
    }
}

__attribute__((constructor)) static void start(void) {
    const char *path = getenv("SHOAL_MALLOC_COUNT_FILE");
    if (path == NULL) return;
    output = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (output < 0) return;
    pthread_t thread;
    if (pthread_create(&thread, NULL, report, NULL) == 0) pthread_detach(thread);
}
