#ifndef SHOAL_FUZZER_DRIVER_H
#define SHOAL_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry point for programs with their own main (LLVM ≥ 11).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
